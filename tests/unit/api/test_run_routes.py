"""A job's runs by slot window and order, and one run by its id alone
(``/executions/{run_id}`` and its alias ``/runs/{run_id}``), scoped to the caller's
organisation: through the real routes and service over the in-memory run store."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Final

import pytest

from almanac.api import encode_identity
from almanac.core.status import RunPhase
from tests.unit.api.history_app import Facade, facade, job_object
from tests.unit.history.builders import SLOT, finished, record

ORG_A: Final = "000101"  # the namespace of the history builders
ORG_B: Final = "000202"
UID: Final = "0b6c3a52-1111-4222-8333-944455556666"
HOUR: Final = timedelta(hours=1)


@pytest.fixture
async def app() -> AsyncIterator[Facade]:
    async with facade() as made:
        made.jobs.objects.append(job_object(ORG_A, UID, "nightly"))
        made.jobs.objects.append(job_object(ORG_B, "uid-b", "theirs"))
        yield made


async def _hourly(app: Facade, count: int) -> list[str]:
    names = [f"nightly-{i}" for i in range(count)]
    for i, name in enumerate(names):
        await app.store.record_run(finished(base=record(run=name, slot=SLOT + i * HOUR)))
    return names


async def test_runs_between_since_and_until_newest_first(app: Facade) -> None:
    names = await _hourly(app, 5)
    since, until = (SLOT + HOUR).isoformat(), (SLOT + 3 * HOUR).isoformat()

    reply = await app.get(ORG_A, f"/jobs/{UID}/runs", since=since, until=until)

    assert reply.status_code == 200, reply.text
    assert [r["id"] for r in reply.json()["data"]] == names[3:0:-1]
    assert reply.json()["meta"]["count"] == 3


async def test_sort_slot_lists_oldest_first_and_pages_from_the_start(app: Facade) -> None:
    names = await _hourly(app, 4)

    reply = await app.get(ORG_A, f"/jobs/{UID}/runs", sort="slot", limit=2)

    assert [r["id"] for r in reply.json()["data"]] == names[:2]
    meta = reply.json()["meta"]
    assert (meta["count"], meta["limit"], meta["offset"], meta["previous"]) == (4, 2, 0, None)
    identity = {"x-rh-identity": encode_identity(ORG_A, username="ann")}
    after = await app.http.get(meta["next"], headers=identity)
    assert [r["id"] for r in after.json()["data"]] == names[2:]
    assert after.json()["meta"]["next"] is None


async def test_status_still_filters_within_the_window(app: Facade) -> None:
    await _hourly(app, 2)
    await app.store.record_run(finished(RunPhase.FAILED, record(run="bad", slot=SLOT + HOUR)))

    reply = await app.get(ORG_A, f"/jobs/{UID}/runs", status="failed", since=SLOT.isoformat())

    assert [r["id"] for r in reply.json()["data"]] == ["bad"]


@pytest.mark.parametrize(
    ("params", "field"),
    [
        pytest.param(
            {"since": "2026-03-02T00:00:00Z", "until": "2026-03-01T00:00:00Z"},
            "until",
            id="until-before-since",
        ),
        pytest.param({"since": "2026-03-01T00:00:00"}, "since", id="since-without-offset"),
        pytest.param({"until": "yesterday"}, "until", id="until-not-a-date"),
        pytest.param({"sort": "start"}, "sort", id="unknown-sort"),
        pytest.param({"status": "done"}, "status", id="unknown-status"),
    ],
)
async def test_a_bad_runs_query_is_a_400_naming_the_parameter(
    app: Facade, params: dict[str, str], field: str
) -> None:
    reply = await app.get(ORG_A, f"/jobs/{UID}/runs", **params)

    assert reply.status_code == 400, reply.text
    assert reply.json()["errors"][0]["field"] == field


@pytest.mark.parametrize("route", ["/executions", "/runs"])
async def test_one_run_by_its_id_alone(app: Facade, route: str) -> None:
    done = finished(RunPhase.FAILED, record(run="nightly-1"), error="exit code 2")
    await app.store.record_run(done)

    reply = await app.get(ORG_A, f"{route}/nightly-1")

    assert reply.status_code == 200, reply.text
    body = reply.json()
    assert (body["id"], body["job_id"], body["status"]) == ("nightly-1", UID, "failed")
    assert body["error_message"] == "exit code 2"


async def test_a_run_stays_readable_by_id_after_its_job_is_deleted(app: Facade) -> None:
    await app.store.record_run(finished(base=record(run="nightly-1")))
    app.jobs.objects = [o for o in app.jobs.objects if o["metadata"]["uid"] != UID]

    assert (await app.get(ORG_A, "/executions/nightly-1")).status_code == 200
    assert (await app.get(ORG_A, f"/jobs/{UID}/runs/nightly-1")).status_code == 404


@pytest.mark.parametrize("route", ["/executions", "/runs"])
async def test_another_organisations_run_id_is_a_404_like_a_missing_one(
    app: Facade, route: str
) -> None:
    """Organisation B asking for A's run learns exactly what asking for nothing tells it;
    A, asking the same, gets the run (the control)."""
    await app.store.record_run(finished(base=record(run="nightly-secret")))

    theirs = await app.get(ORG_B, f"{route}/nightly-secret")
    nowhere = await app.get(ORG_B, f"{route}/nightly-nowhere")
    mine = await app.get(ORG_A, f"{route}/nightly-secret")

    assert (theirs.status_code, nowhere.status_code, mine.status_code) == (404, 404, 200)
    assert theirs.json()["errors"][0]["field"] == "run_id"
    assert theirs.text.replace("nightly-secret", "nightly-nowhere") == nowhere.text
    assert "org-000101" not in theirs.text


async def test_a_run_id_over_253_characters_is_a_400_naming_it(app: Facade) -> None:
    reply = await app.get(ORG_A, f"/executions/{'x' * 254}")

    assert reply.status_code == 400
    assert reply.json()["errors"][0]["field"] == "run_id"


@pytest.mark.parametrize(
    "path",
    ["/executions/nightly-1", "/runs/nightly-1", f"/jobs/{UID}/runs?since=2026-01-01T00:00Z"],
)
async def test_a_history_outage_is_a_503_with_retry_after(app: Facade, path: str) -> None:
    app.store.fail_next(1)

    reply = await app.get(ORG_A, path)

    assert reply.status_code == 503, reply.text
    assert int(reply.headers["retry-after"]) > 0
    assert reply.json()["errors"][0]["field"] == "history"


async def test_status_filters_and_shows_timeout_dead_lettered_and_skipped(app: Facade) -> None:
    failed = RunPhase.FAILED
    await app.store.record_run(finished(failed, record(run="plain")))
    await app.store.record_run(
        finished(failed, record(run="late", slot=SLOT + HOUR), reason="timeout")
    )
    dead = record(run="dead", slot=SLOT + 2 * HOUR)
    await app.store.record_run(finished(failed, dead, dead_lettered_at=SLOT + 2 * HOUR))
    skip = record(RunPhase.SKIPPED, run="frozen", slot=SLOT + 3 * HOUR, reason="suspended")
    await app.store.record_run(skip)

    shown = {}
    for status in ("failed", "timeout", "dead_lettered", "skipped"):
        reply = await app.get(ORG_A, f"/jobs/{UID}/runs", status=status)
        assert reply.status_code == 200, reply.text
        shown[status] = [(r["id"], r["status"], r["reason"]) for r in reply.json()["data"]]

    assert shown == {
        "failed": [("plain", "failed", None)],
        "timeout": [("late", "timeout", "timeout")],
        "dead_lettered": [("dead", "dead_lettered", None)],
        "skipped": [("frozen", "skipped", "suspended")],
    }
    stats = (await app.get(ORG_A, f"/jobs/{UID}/stats")).json()
    assert (stats["failed"], stats["timeouts"], stats["skipped"]) == (3, 1, 1)
    assert stats["last_execution"]["run_id"] == "dead"  # a skipped slot is no execution
