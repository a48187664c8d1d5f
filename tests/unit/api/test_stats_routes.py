"""A job's stats (durations, timeouts, its last and next run) and the organisation's
metrics summary, through the real routes and service over the in-memory run store."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Final

import pytest

from almanac.core.status import RunPhase
from almanac.history.records import TIMEOUT_ERROR
from tests.unit.api.history_app import NOW, Facade, facade, job_object
from tests.unit.history.builders import SLOT, finished, record, running

ORG: Final = "000101"  # the namespace of the history builders
UID: Final = "0b6c3a52-1111-4222-8333-944455556666"
NEXT: Final = "2026-03-03T02:00:00Z"
LATE: Final = {"status": "failed", "summary": "over", "details": {"error": TIMEOUT_ERROR}}


@pytest.fixture
async def app() -> AsyncIterator[Facade]:
    async with facade() as made:
        made.jobs.objects.append(job_object(ORG, UID, "nightly", nextRunTime=NEXT))
        yield made


async def test_stats_name_the_job_and_carry_durations_timeouts_last_and_next(
    app: Facade,
) -> None:
    for i, seconds in enumerate([10, 20, 60]):
        slot = SLOT + timedelta(days=i)
        await app.store.record_run(finished(base=record(run=f"ok-{i}", slot=slot), seconds=seconds))
    await app.store.record_run(
        finished(
            RunPhase.FAILED,
            record(run="late", slot=SLOT),
            seconds=30,
            result=LATE,
            reason="timeout",
        )
    )
    newest = running(record(run="newest", slot=SLOT + timedelta(days=3)))
    await app.store.record_run(newest)

    reply = await app.get(ORG, f"/jobs/{UID}/stats")

    assert reply.status_code == 200, reply.text
    stats = reply.json()
    assert (stats["job_id"], stats["job_name"]) == (UID, "Nightly")
    assert (stats["total"], stats["running"], stats["failed"], stats["timeouts"]) == (5, 1, 1, 1)
    assert (stats["min_seconds"], stats["avg_seconds"], stats["max_seconds"]) == (10, 30, 60)
    assert stats["last_execution"] == {
        "run_id": "newest",
        "status": "running",
        "started_at": "2026-03-04T02:00:02Z",  # two seconds after its slot
        "duration_seconds": None,
    }
    assert stats["next_execution"] == {"scheduled_at": NEXT}
    assert stats["generated_at"] == NOW.isoformat().replace("+00:00", "Z")


async def test_stats_of_a_job_that_never_ran_have_no_last_execution(app: Facade) -> None:
    app.jobs.objects[0]["spec"]["suspend"] = True
    del app.jobs.objects[0]["status"]["nextRunTime"]

    stats = (await app.get(ORG, f"/jobs/{UID}/stats")).json()

    assert (stats["total"], stats["last_execution"], stats["next_execution"]) == (0, None, None)
    assert stats["avg_seconds"] is None


async def test_stats_of_another_organisations_job_are_a_404(app: Facade) -> None:
    reply = await app.get("000202", f"/jobs/{UID}/stats")

    assert reply.status_code == 404
    assert reply.json()["errors"][0]["field"] == "id"


async def test_summary_counts_jobs_by_status_and_runs_in_the_period(app: Facade) -> None:
    app.jobs.objects += [
        job_object(ORG, "uid-paused", "paused", spec={"suspend": True}),
        job_object(ORG, "uid-failed", "failed", lastRun={"phase": "Failed"}),
        job_object("000202", "uid-theirs", "theirs", spec={"suspend": True}),
    ]
    in_period = NOW - timedelta(hours=2)
    await app.store.record_run(finished(base=record(run="ok", slot=in_period), seconds=10))
    await app.store.record_run(
        finished(
            RunPhase.FAILED,
            record(run="late", slot=in_period),
            seconds=30,
            result=LATE,
            reason="timeout",
        )
    )
    await app.store.record_run(finished(base=record(run="old", slot=NOW - timedelta(days=2))))
    await app.store.record_run(running(record(run="still", slot=NOW - timedelta(days=3))))

    reply = await app.get(ORG, "/metrics/summary")

    assert reply.status_code == 200, reply.text
    body = reply.json()
    assert body["period"] == "24h"
    assert body["jobs"] == {
        "total": 3,
        "scheduled": 1,
        "paused": 1,
        "running": 0,
        "failed": 1,
        "completed": 0,
        "cancelled": 0,
    }
    assert body["runs"] == {
        "total": 2,
        "running": 0,
        "succeeded": 1,
        "failed": 1,
        "timeouts": 1,
        "skipped": 0,
        "cancelled": 0,
    }
    assert body["performance"]["success_rate"] == 0.5
    assert body["performance"]["avg_seconds"] == 20
    assert body["queue"] == {"running": 1, "pending": 0}
    assert body["time_range"] == {"start": "2026-03-01T12:00:00Z", "end": "2026-03-02T12:00:00Z"}


@pytest.mark.parametrize(("period", "hours"), [("1h", 1), ("7d", 168), ("30d", 720)])
async def test_summary_period_sets_the_time_range(app: Facade, period: str, hours: int) -> None:
    body = (await app.get(ORG, "/metrics/summary", period=period)).json()

    start = (NOW - timedelta(hours=hours)).isoformat().replace("+00:00", "Z")
    assert (body["period"], body["time_range"]["start"]) == (period, start)


@pytest.mark.parametrize("period", ["2h", "24H", "", "1d"])
async def test_an_unknown_period_is_a_400_naming_it(app: Facade, period: str) -> None:
    reply = await app.get(ORG, "/metrics/summary", period=period)

    assert reply.status_code == 400, reply.text
    assert reply.json()["errors"][0]["field"] == "period"


async def test_summary_of_an_organisation_with_nothing_is_zero(app: Facade) -> None:
    body = (await app.get("000303", "/metrics/summary")).json()

    assert (body["jobs"]["total"], body["runs"]["total"]) == (0, 0)
    assert body["performance"]["success_rate"] is None


@pytest.mark.parametrize("path", ["/metrics/summary", f"/jobs/{UID}/stats"])
async def test_a_history_outage_is_a_503_with_retry_after(app: Facade, path: str) -> None:
    app.store.fail_next(1)

    reply = await app.get(ORG, path)

    assert reply.status_code == 503, reply.text
    assert int(reply.headers["retry-after"]) > 0
    assert reply.json()["errors"][0]["field"] == "history"
