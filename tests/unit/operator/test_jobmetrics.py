"""Per-job series answer "has job X succeeded lately?": last success, last failure, next
run and the failure streak per ScheduledJob, bounded in number, gone with the job."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from prometheus_client import CollectorRegistry, generate_latest

from almanac.core.runs import JobObservation
from almanac.core.status import RunPhase, TriggerKind
from almanac.operator.jobmetrics import JobSeries, facts_of

NOON = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)


def run(minute: int, phase: RunPhase) -> JobObservation:
    at = NOON + timedelta(minutes=minute)
    done = at if phase in (RunPhase.SUCCEEDED, RunPhase.FAILED) else None
    return JobObservation(f"r{minute}", at, TriggerKind.SCHEDULE, 1, phase, at, done)


def test_the_streak_counts_failures_back_to_the_last_success() -> None:
    jobs = [
        run(0, RunPhase.FAILED),
        run(1, RunPhase.SUCCEEDED),
        run(2, RunPhase.FAILED),
        run(3, RunPhase.FAILED),
        run(4, RunPhase.RUNNING),
    ]
    facts = facts_of(jobs, NOON + timedelta(minutes=1), NOON + timedelta(minutes=5))
    assert facts.consecutive_failures == 2
    assert facts.last_failure == NOON + timedelta(minutes=3)
    assert facts_of([run(0, RunPhase.SUCCEEDED)], None, None).consecutive_failures == 0


def test_series_are_labelled_per_job_bounded_and_dropped_with_the_job() -> None:
    registry = CollectorRegistry()
    series = JobSeries(registry, limit=1)
    series.observe(("team-a", "nightly"), facts_of([run(0, RunPhase.FAILED)], NOON, None))
    series.observe(("team-b", "hourly"), facts_of([], None, None))  # over the limit
    text = generate_latest(registry).decode()
    labels = '{namespace="team-a",scheduledjob="nightly"}'
    assert f"almanac_job_last_success_timestamp_seconds{labels} 1.7961264e+09" in text
    assert f"almanac_job_consecutive_failures{labels} 1.0" in text
    assert "team-b" not in text
    assert "almanac_job_series_omitted 1.0" in text
    series.forget(("team-a", "nightly"))
    series.forget(("team-b", "hourly"))
    text = generate_latest(registry).decode()
    assert "nightly" not in text
    assert "almanac_job_series_omitted 0.0" in text
