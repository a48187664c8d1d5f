"""A job's Kubernetes Events over REST (``GET /jobs/{job_id}/events``): newest first, in one
shape whichever API wrote them, bounded, and nothing of another organisation's job.

The Events are made by the operator's own :func:`~almanac.operator.kube.event_body`, so
they are shaped as the operator posts them."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import datetime, timedelta
from typing import Any, Final

import pytest

from almanac.api.kubeevents import event_view, events_view
from almanac.core.snapshot import ObjectRef
from almanac.operator.kube import event_body
from tests.unit.api.history_app import NOW, Facade, facade, job_object

ORG_A: Final = "000101"
ORG_B: Final = "000202"
UID_A: Final = "0b6c3a52-1111-4222-8333-944455556666"
UID_B: Final = "uid-b"
JOB_A: Final = ObjectRef("org-000101", "nightly", UID_A)


def posted(
    ref: ObjectRef, reason: str, minutes_ago: int, *, warning: bool = False
) -> dict[str, Any]:
    """An Event as the operator posts it ``minutes_ago`` before :data:`NOW` (the API server
    names it and stamps its namespace)."""
    at = NOW - timedelta(minutes=minutes_ago)
    body = event_body(
        ref,
        reason,
        f"{reason} {minutes_ago}",
        warning=warning,
        component="almanac-operator",
        now=at,
    )
    body["metadata"] |= {"name": f"{ref.name}.{minutes_ago:x}", "namespace": ref.namespace}
    return body


@pytest.fixture
async def app() -> AsyncIterator[Facade]:
    async with facade() as made:
        made.jobs.objects.append(job_object(ORG_A, UID_A, "nightly"))
        made.jobs.objects.append(job_object(ORG_B, UID_B, "theirs"))
        yield made


async def test_a_jobs_events_are_listed_newest_first_in_the_rest_shape(app: Facade) -> None:
    app.jobs.events += [
        posted(JOB_A, "Launched", 30),
        posted(JOB_A, "Failed", 10, warning=True),
        posted(JOB_A, "RunNow", 20),
    ]

    reply = await app.get(ORG_A, f"/jobs/{UID_A}/events")

    assert reply.status_code == 200, reply.text
    body = reply.json()
    assert [e["reason"] for e in body["data"]] == ["Failed", "RunNow", "Launched"]
    assert body["data"][0] == {
        "type": "Warning",
        "reason": "Failed",
        "message": "Failed 10",
        "count": 1,
        "first_seen": "2026-03-02T11:50:00Z",
        "last_seen": "2026-03-02T11:50:00Z",
        "source": "almanac-operator",
    }
    assert body["truncated"] is False


async def test_only_this_jobs_events_not_a_namesakes_or_a_neighbours(app: Facade) -> None:
    """Selected by uid: a deleted job of the same name, or another job, lends it none."""
    earlier_namesake = ObjectRef(JOB_A.namespace, JOB_A.name, "uid-of-a-deleted-nightly")
    neighbour = ObjectRef(JOB_A.namespace, "weekly", "uid-weekly")
    app.jobs.events += [
        posted(JOB_A, "Launched", 5),
        posted(earlier_namesake, "Failed", 4),
        posted(neighbour, "Skipped", 3),
    ]

    reply = await app.get(ORG_A, f"/jobs/{UID_A}/events")

    assert [e["message"] for e in reply.json()["data"]] == ["Launched 5"]


async def test_another_organisation_gets_a_404_and_none_of_the_events(app: Facade) -> None:
    app.jobs.events.append(posted(JOB_A, "Launched", 5))

    probed = await app.get(ORG_B, f"/jobs/{UID_A}/events")
    unknown = await app.get(ORG_B, "/jobs/no-such-job/events")

    assert (probed.status_code, unknown.status_code) == (404, 404)  # the same as no job
    assert "Launched" not in probed.text
    assert [e["field"] for e in probed.json()["errors"]] == ["id"]
    # Control: the job's own organisation reads them.
    own = await app.get(ORG_A, f"/jobs/{UID_A}/events")
    assert [e["reason"] for e in own.json()["data"]] == ["Launched"]


async def test_limit_keeps_the_newest_and_says_older_ones_were_left_out(app: Facade) -> None:
    app.jobs.events += [posted(JOB_A, "Launched", m) for m in range(1, 8)]

    reply = await app.get(ORG_A, f"/jobs/{UID_A}/events", limit=3)

    body = reply.json()
    assert [e["message"] for e in body["data"]] == ["Launched 1", "Launched 2", "Launched 3"]
    assert body["truncated"] is True


@pytest.mark.parametrize("limit", [0, 201, "many"])
async def test_a_bad_limit_is_a_400_naming_it(app: Facade, limit: object) -> None:
    reply = await app.get(ORG_A, f"/jobs/{UID_A}/events", limit=limit)
    assert reply.status_code == 400
    assert [e["field"] for e in reply.json()["errors"]] == ["limit"]


def _at(text: str) -> datetime:
    return datetime.fromisoformat(text)


@pytest.mark.parametrize(
    ("event", "expected"),
    [
        pytest.param(
            {
                "type": "Warning",
                "reason": "BackOff",
                "message": "repeated",
                "count": 4,
                "firstTimestamp": "2026-03-02T11:00:00Z",
                "lastTimestamp": "2026-03-02T11:30:00Z",
                "source": {"component": "kubelet"},
            },
            ("Warning", 4, "2026-03-02T11:00:00+00:00", "2026-03-02T11:30:00+00:00", "kubelet"),
            id="core-v1-aggregated",
        ),
        pytest.param(
            {
                "type": "Normal",
                "reason": "Seen",
                "message": "by a new-style writer",
                "eventTime": "2026-03-02T11:00:00.123456Z",
                "series": {"count": 3, "lastObservedTime": "2026-03-02T11:20:00.000001Z"},
                "reportingComponent": "some-controller",
                "count": 0,
            },
            (
                "Normal",
                3,
                "2026-03-02T11:00:00.123456+00:00",
                "2026-03-02T11:20:00.000001+00:00",
                "some-controller",
            ),
            id="events-k8s-io-series",
        ),
        pytest.param(
            {
                "reason": "Bare",
                "metadata": {"creationTimestamp": "2026-03-02T10:00:00Z"},
                "lastTimestamp": None,
                "source": {},
            },
            ("Normal", 1, "2026-03-02T10:00:00+00:00", "2026-03-02T10:00:00+00:00", None),
            id="only-a-creation-time",
        ),
        pytest.param(
            {"reason": "Timeless", "firstTimestamp": "not a time"},
            ("Normal", 1, None, None, None),
            id="no-readable-time",
        ),
    ],
)
def test_either_apis_event_reads_as_one_shape(
    event: dict[str, Any], expected: tuple[str, int, str | None, str | None, str | None]
) -> None:
    view = event_view(event)
    kind, count, first, last, source = expected
    assert (view.type, view.count, view.source) == (kind, count, source)
    assert view.first_seen == (_at(first) if first else None)
    assert view.last_seen == (_at(last) if last else None)


def test_events_without_a_time_come_last_and_ties_go_by_first_seen() -> None:
    events = [
        {"reason": "Timeless"},
        {
            "reason": "Older start",
            "firstTimestamp": "2026-03-02T09:00:00Z",
            "lastTimestamp": "2026-03-02T11:00:00Z",
        },
        {
            "reason": "Newer start",
            "firstTimestamp": "2026-03-02T10:00:00Z",
            "lastTimestamp": "2026-03-02T11:00:00Z",
        },
    ]
    listed = events_view(events, 10)
    assert [e.reason for e in listed.data] == ["Newer start", "Older start", "Timeless"]
    assert listed.truncated is False
