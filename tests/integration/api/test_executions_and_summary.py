"""Issue #21's history reads on the real facade and Postgres: a run by its id alone
(``/executions/{run_id}``, alias ``/runs/{run_id}``) for its organisation only, a job's runs
by slot window and order, the stats' new fields, the organisation's metrics summary, and
run-now's ``Location`` naming its run."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any, Final

from almanac.api import BASE_PATH
from almanac.core.status import RunPhase
from almanac.history import PostgresRunStore
from almanac.history.records import TIMEOUT_ERROR
from tests.integration.api.conftest import Org, history_run

T0: Final = datetime(2026, 11, 1, 2, 0, tzinfo=UTC)
HOUR: Final = timedelta(hours=1)
LATE: Final = {"status": "failed", "summary": "over", "details": {"error": TIMEOUT_ERROR}}


async def test_a_run_is_read_by_its_id_alone_by_its_organisation_only(
    make_org: Any, store: PostgresRunStore
) -> None:
    alice, bob = make_org("alice"), make_org("bob")
    job = alice.create(name="secret")
    record = history_run(alice, job, T0, RunPhase.FAILED, error="boom")
    await store.record_run(record)

    mine = alice.request("GET", f"/executions/{record.run_name}")
    alias = alice.request("GET", f"/runs/{record.run_name}")
    theirs = bob.request("GET", f"/executions/{record.run_name}")
    nowhere = bob.request("GET", "/executions/secret-00000-202611010200")

    assert mine.status_code == 200, mine.text
    assert (mine.json()["job_id"], mine.json()["error_message"]) == (job["id"], "boom")
    assert alias.json() == mine.json()
    assert (theirs.status_code, nowhere.status_code) == (404, 404)
    assert theirs.text.replace(record.run_name, "secret-00000-202611010200") == nowhere.text
    # Still readable by its id once its job is gone.
    assert alice.request("DELETE", f"/jobs/{job['id']}").status_code == 204
    assert alice.request("GET", f"/executions/{record.run_name}").status_code == 200


async def test_a_jobs_runs_by_slot_window_and_order(org: Org, store: PostgresRunStore) -> None:
    job = org.create(name="windowed")
    runs = [history_run(org, job, T0 + n * HOUR, RunPhase.SUCCEEDED) for n in range(5)]
    for record in runs:
        await store.record_run(record)
    path = f"/jobs/{job['id']}/runs"

    window = {"since": (T0 + HOUR).isoformat(), "until": (T0 + 3 * HOUR).isoformat()}
    inside = org.request("GET", path, params=window).json()
    oldest = org.request("GET", path, params={"sort": "slot", "limit": 2}).json()
    inverted = org.request("GET", path, params={"since": window["until"], "until": window["since"]})

    assert [r["id"] for r in inside["data"]] == [r.run_name for r in runs[3:0:-1]]
    assert inside["meta"]["count"] == 3
    assert [r["id"] for r in oldest["data"]] == [r.run_name for r in runs[:2]]
    assert inverted.status_code == 400
    assert inverted.json()["errors"][0]["field"] == "until"


async def test_stats_carry_durations_timeouts_and_the_last_run(
    org: Org, store: PostgresRunStore
) -> None:
    job = org.create(name="measured")
    await store.record_run(history_run(org, job, T0, RunPhase.SUCCEEDED, seconds=10))
    await store.record_run(history_run(org, job, T0 + HOUR, RunPhase.SUCCEEDED, seconds=30))
    late = history_run(
        org, job, T0 + 2 * HOUR, RunPhase.FAILED, seconds=50, result=LATE, reason="timeout"
    )
    await store.record_run(late)

    stats = org.request("GET", f"/jobs/{job['id']}/stats").json()

    assert (stats["job_id"], stats["job_name"]) == (job["id"], "measured")
    assert (stats["failed"], stats["timeouts"]) == (1, 1)
    assert (stats["min_seconds"], stats["avg_seconds"], stats["max_seconds"]) == (10, 30, 50)
    assert stats["last_execution"] == {
        "run_id": late.run_name,
        "status": "timeout",
        "started_at": "2026-11-01T04:00:00Z",
        "duration_seconds": 50.0,
    }


async def test_metrics_summary_counts_the_organisations_jobs_and_recent_runs(
    make_org: Any, store: PostgresRunStore
) -> None:
    org, other = make_org("ann"), make_org("bob")
    job = org.create(name="summarised")
    org.create(name="resting", status="paused")
    other.create(name="elsewhere")
    now = datetime.now(UTC).replace(microsecond=0)
    await store.record_run(history_run(org, job, now - 2 * HOUR, RunPhase.SUCCEEDED, seconds=4))
    await store.record_run(history_run(org, job, now - 3 * HOUR, RunPhase.FAILED, seconds=6))
    await store.record_run(history_run(org, job, now - 48 * HOUR, RunPhase.SUCCEEDED))
    await store.record_run(history_run(org, job, now - 72 * HOUR, RunPhase.RUNNING))

    day = org.request("GET", "/metrics/summary").json()
    hour = org.request("GET", "/metrics/summary", params={"period": "1h"}).json()
    bad = org.request("GET", "/metrics/summary", params={"period": "2h"})

    assert (day["jobs"]["total"], day["jobs"]["paused"], day["jobs"]["scheduled"]) == (2, 1, 1)
    assert (day["runs"]["total"], day["runs"]["succeeded"], day["runs"]["failed"]) == (2, 1, 1)
    assert day["performance"]["success_rate"] == 0.5
    assert day["performance"]["avg_seconds"] == 5
    assert day["queue"] == {"running": 1, "pending": 0}
    assert hour["runs"]["total"] == 0
    assert bad.status_code == 400
    assert bad.json()["errors"][0]["field"] == "period"


def test_run_now_locates_its_run_by_id(org: Org) -> None:
    job = org.create(name="now")

    started = org.request("POST", f"/jobs/{job['id']}/run", headers={"Idempotency-Key": "k-1"})

    assert started.status_code == 202, started.text
    assert started.headers["location"] == f"{BASE_PATH}/executions/{started.json()['run_id']}"
