"""The metrics summary's pure parts: the period's window, jobs counted by the status the
job JSON shows, the history's aggregates carried over; and the runs window's check."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any, Final, get_args

import pytest

from almanac.api.errors import BadRequestError
from almanac.api.runreads import RunWindow
from almanac.api.summary import PERIODS, Period, period_window, summary_view
from almanac.history.records import RunAggregate, RunSummary

NOW: Final = datetime(2026, 3, 2, 12, 0, tzinfo=UTC)
RUNS: Final = RunAggregate(
    total=4,
    running=1,
    succeeded=2,
    failed=1,
    timeouts=0,
    skipped=0,
    cancelled=0,
    success_rate=2 / 3,
    avg_seconds=20.0,
    min_seconds=10.0,
    max_seconds=30.0,
    p50_seconds=20.0,
    p95_seconds=29.0,
    p99_seconds=29.8,
)


def _job(spec: dict[str, Any] | None = None, **status: Any) -> dict[str, Any]:
    return {"metadata": {"uid": "u", "name": "n"}, "spec": spec or {}, "status": status}


@pytest.mark.parametrize("period", list(PERIODS))
def test_period_window_ends_now_and_reaches_back_the_period(period: Period) -> None:
    assert period_window(period, NOW) == (NOW - PERIODS[period], NOW)


def test_every_period_the_route_accepts_has_a_length() -> None:
    assert set(PERIODS) == set(get_args(Period))


def test_jobs_are_counted_by_the_status_their_json_shows() -> None:
    jobs = [
        _job(),
        _job({"suspend": True}),
        _job(active=[{"name": "run-1"}]),
        _job(conditions=[{"type": "Complete", "status": "True"}]),
        _job(lastRun={"phase": "Failed"}),
        _job(lastRun={"phase": "Succeeded"}),
    ]

    body = summary_view("24h", jobs, RunSummary(RUNS, running_now=3, pending_now=1), NOW)

    counts = body.jobs.model_dump()
    assert counts == {
        "total": 6,
        "scheduled": 2,
        "paused": 1,
        "running": 1,
        "failed": 1,
        "completed": 1,
        "cancelled": 0,
    }


def test_runs_and_performance_are_the_historys_and_the_queue_is_now() -> None:
    body = summary_view("1h", [], RunSummary(RUNS, running_now=3, pending_now=1), NOW)

    assert (body.runs.total, body.runs.running, body.runs.succeeded) == (4, 1, 2)
    assert body.performance.success_rate == pytest.approx(2 / 3)
    assert body.performance.p99_seconds == 29.8
    assert (body.queue.running, body.queue.pending) == (3, 1)
    assert (body.time_range.start, body.time_range.end) == (NOW - timedelta(hours=1), NOW)
    assert body.generated_at == NOW


def test_a_run_window_may_be_one_instant_or_open() -> None:
    assert RunWindow(NOW, NOW).until == NOW
    assert RunWindow(until=NOW).since is None


def test_a_run_window_ending_before_it_starts_is_refused_naming_until() -> None:
    with pytest.raises(BadRequestError) as refused:
        RunWindow(NOW, NOW - timedelta(seconds=1))
    assert refused.value.field == "until"
