"""``GET /queue``: the caller's organisation's queued runs, next first, with the limit each
waits for; nothing of another organisation's queue (and a control: its own is there)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any, Final

import pytest

from almanac.core.queueing import Cap
from almanac.core.resource import parse_spec
from almanac.core.runs import RunRequest, build_job
from almanac.core.templates import JobTemplateSpec
from tests.support.reconcile import at
from tests.unit.api.history_app import Facade, facade

ORG_A: Final = "000101"
ORG_B: Final = "000202"


def run_job(
    org: str, uid: str, slot: str, *, queued: Cap | None, priority: int = 0, created: str
) -> dict[str, Any]:
    """A run's Job as the operator builds it, as the API server returns it."""
    body = build_job(
        name="nightly",
        namespace=f"org-{org}",
        uid=uid,
        spec=parse_spec({"template": "command", "schedule": {"cron": "* * * * *"}}),
        run=RunRequest(at(slot)),
        template=JobTemplateSpec(image="img"),
        queued=queued.value if queued else None,
        priority=priority,
    )
    body["metadata"]["creationTimestamp"] = f"2026-12-01T{created}Z"
    return body


@pytest.fixture
async def app() -> AsyncIterator[Facade]:
    async with facade() as made:
        made.jobs.run_jobs += [
            run_job(ORG_A, "uid-a", "12:00", queued=None, created="12:00:00"),
            run_job(ORG_A, "uid-a", "12:01", queued=Cap.NAMESPACE, created="12:01:00"),
            run_job(
                ORG_A, "uid-a2", "12:02", queued=Cap.NAMESPACE, priority=100, created="12:02:00"
            ),
            run_job(ORG_B, "uid-b", "12:00", queued=Cap.ORGANISATION, created="11:00:00"),
        ]
        yield made


async def test_the_queue_lists_the_callers_runs_next_first(app: Facade) -> None:
    reply = await app.get(ORG_A, "/queue")
    assert reply.status_code == 200, reply.text
    body = reply.json()
    assert [(r["position"], r["job_id"], r["reason"], r["priority"]) for r in body["data"]] == [
        (1, "uid-a2", "namespace", 100),
        (2, "uid-a", "namespace", 0),
    ]
    assert body["meta"]["count"] == 2
    assert body["data"][1]["slot"] == "2026-12-01T12:01:00Z"


async def test_another_organisation_sees_only_its_own_queue(app: Facade) -> None:
    theirs = (await app.get(ORG_B, "/queue")).json()["data"]
    assert [(r["job_id"], r["reason"]) for r in theirs] == [("uid-b", "organisation")]
    assert (await app.get(ORG_B, "/queue", job_id="uid-a")).json()["data"] == []


async def test_the_queue_filters_by_job_and_pages(app: Facade) -> None:
    one = (await app.get(ORG_A, "/queue", job_id="uid-a")).json()["data"]
    assert [r["job_id"] for r in one] == ["uid-a"]
    page = (await app.get(ORG_A, "/queue", limit=1, offset=1)).json()
    assert [r["position"] for r in page["data"]] == [2]


async def test_an_organisation_with_nothing_queued_gets_an_empty_page(app: Facade) -> None:
    reply = await app.get("000303", "/queue")
    assert (reply.status_code, reply.json()["data"]) == (200, [])
