"""Per-job series answer "has job X succeeded lately?": last success, last failure, next
run, the failure streak, the schedule's interval and a run duration histogram per
ScheduledJob, bounded in number, gone with the job."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from prometheus_client import CollectorRegistry, generate_latest

from almanac.core.runs import JobObservation
from almanac.core.status import RunPhase, TriggerKind
from almanac.operator.jobmetrics import SERIES_PER_JOB, JobSeries, facts_of
from tests.unit.core.anchors import compiled

NOON = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)
NIGHTLY = ("team-a", "nightly")
LABELS = '{namespace="team-a",scheduledjob="nightly"}'


def run(minute: int, phase: RunPhase, seconds: float = 0) -> JobObservation:
    at = NOON + timedelta(minutes=minute)
    done = (
        at + timedelta(seconds=seconds) if phase in (RunPhase.SUCCEEDED, RunPhase.FAILED) else None
    )
    return JobObservation(f"r{minute}", at, TriggerKind.SCHEDULE, 1, phase, at, done)


def scrape(registry: CollectorRegistry) -> str:
    return generate_latest(registry).decode()


def test_the_facts_take_the_streak_from_status_and_the_last_failure_from_the_jobs() -> None:
    jobs = [run(0, RunPhase.FAILED), run(1, RunPhase.SUCCEEDED), run(3, RunPhase.FAILED)]
    facts = facts_of(jobs, NOON + timedelta(minutes=1), NOON + timedelta(minutes=5), 7)
    assert facts.consecutive_failures == 7  # status outlives the Jobs history limits delete
    assert facts.last_failure == NOON + timedelta(minutes=3)
    assert facts_of([run(0, RunPhase.SUCCEEDED)], None, None, 0).last_failure is None


def test_series_are_labelled_per_job_bounded_and_dropped_with_the_job() -> None:
    registry = CollectorRegistry()
    series = JobSeries(registry, limit=1)
    series.observe(NIGHTLY, facts_of([run(0, RunPhase.FAILED)], NOON, None, 1))
    series.observe(("team-b", "hourly"), facts_of([], None, None, 0))  # over the limit
    text = scrape(registry)
    assert f"almanac_job_last_success_timestamp_seconds{LABELS} 1.7961264e+09" in text
    assert f"almanac_job_consecutive_failures{LABELS} 1.0" in text
    assert f"almanac_job_suspended{LABELS} 0.0" in text
    assert "team-b" not in text
    assert "almanac_job_series_omitted 1.0" in text
    series.forget(NIGHTLY)
    series.forget(("team-b", "hourly"))
    text = scrape(registry)
    assert "nightly" not in text
    assert "almanac_job_series_omitted 0.0" in text


def test_the_interval_gauge_is_the_schedules_longest_gap_and_none_for_a_one_off() -> None:
    registry = CollectorRegistry()
    series = JobSeries(registry)
    weekdays = compiled(cron="0 9 * * 1-5")
    gap = series.interval(NIGHTLY, weekdays, NOON)
    series.observe(NIGHTLY, facts_of([], None, None, 0, gap))
    one_off = compiled(at="2027-01-01T00:00:00Z")
    series.observe(
        ("team-a", "once"),
        facts_of([], None, None, 0, series.interval(("team-a", "once"), one_off, NOON)),
    )
    text = scrape(registry)
    assert f"almanac_job_interval_seconds{LABELS} 259200.0" in text  # Friday to Monday
    assert 'almanac_job_interval_seconds{namespace="team-a",scheduledjob="once"}' not in text
    assert series.interval(NIGHTLY, None, NOON) is None  # event-only jobs have none


def test_the_interval_is_computed_once_per_schedule() -> None:
    series = JobSeries(CollectorRegistry())
    first = compiled(every="5m")
    assert series.interval(NIGHTLY, first, NOON) == timedelta(minutes=5)
    series._intervals[NIGHTLY] = (first, timedelta(hours=9))  # a cached answer is reused
    assert series.interval(NIGHTLY, compiled(every="5m"), NOON) == timedelta(hours=9)
    assert series.interval(NIGHTLY, compiled(every="1h"), NOON) == timedelta(hours=1)


def test_run_durations_fill_a_per_job_histogram() -> None:
    registry = CollectorRegistry()
    series = JobSeries(registry)
    series.observe(NIGHTLY, facts_of([], None, None, 0))
    series.observe_run(NIGHTLY, run(0, RunPhase.SUCCEEDED, seconds=3))
    series.observe_run(NIGHTLY, run(1, RunPhase.FAILED, seconds=40))
    series.observe_run(NIGHTLY, run(2, RunPhase.RUNNING))  # not finished: nothing
    series.observe_run(("team-b", "unseen"), run(0, RunPhase.SUCCEEDED, seconds=3))
    labels = {"namespace": "team-a", "scheduledjob": "nightly"}

    def sample(suffix: str, **extra: str) -> float | None:
        return registry.get_sample_value(
            f"almanac_job_run_duration_seconds{suffix}", labels | extra
        )

    buckets = {le: sample("_bucket", le=le) for le in ("1.0", "5.0", "60.0", "+Inf")}
    assert buckets == {"1.0": 0, "5.0": 1, "60.0": 2, "+Inf": 2}
    assert (sample("_count"), sample("_sum")) == (2, 43)
    text = scrape(registry)
    assert "unseen" not in text  # a job without series gets no histogram either


def test_one_job_adds_at_most_the_documented_number_of_series() -> None:
    registry = CollectorRegistry()
    series = JobSeries(registry)
    gap = series.interval(NIGHTLY, compiled(every="5m"), NOON)
    facts = facts_of([run(0, RunPhase.FAILED)], NOON, NOON, 1, gap, suspended=True)
    series.observe(NIGHTLY, facts)
    series.observe_run(NIGHTLY, run(0, RunPhase.FAILED, seconds=1))
    lines = [line for line in scrape(registry).splitlines() if 'scheduledjob="nightly"' in line]
    assert len(lines) == SERIES_PER_JOB
