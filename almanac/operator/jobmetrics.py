"""Per-job series: what "has job X succeeded lately?" alerts need, one set per ScheduledJob.

Fleet-wide counters cannot say that one nightly job has failed every night. For each
ScheduledJob the leader exports the last success, the last failure and the next run as
Unix timestamps, the failure streak (``status.consecutiveFailures``), the schedule's
interval (the longest gap between its next slots, what "not succeeded within k times its
interval" divides by), whether it is suspended (a suspended job is not overdue) and a
histogram of its runs' durations, labelled by namespace and name (as kube-state-metrics
does for CronJobs). The series are collected from dictionaries the reconcile passes and
finished runs update, not kept as labelled metrics; their number is bounded by
``ALMANAC_JOB_METRICS_LIMIT`` (jobs beyond it get none, and are counted), since every
label set costs memory in Prometheus: a job has at most :data:`SERIES_PER_JOB` series.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Final

from prometheus_client.core import GaugeMetricFamily, HistogramMetricFamily, Metric
from prometheus_client.registry import Collector, CollectorRegistry

from almanac.core.runs import JobObservation
from almanac.core.schedule import CompiledSchedule
from almanac.core.status import RunPhase

__all__ = [
    "DEFAULT_LIMIT",
    "DURATION_BUCKETS",
    "SERIES_PER_JOB",
    "JobFacts",
    "JobSeries",
    "facts_from_status",
    "facts_of",
]

DEFAULT_LIMIT = 1000
#: Run durations (seconds) the histogram tells apart: a few seconds to six hours.
DURATION_BUCKETS: Final = (1.0, 5.0, 15.0, 30.0, 60.0, 120.0, 300.0, 600.0, 1800.0, 3600.0, 21600.0)
#: Series one job may add: six gauges, and the histogram's buckets, +Inf, sum and count.
SERIES_PER_JOB: Final = 6 + len(DURATION_BUCKETS) + 3
Key = tuple[str, str]
LABELS: Final = ["namespace", "scheduledjob"]


@dataclass(frozen=True)
class JobFacts:
    last_success: datetime | None
    last_failure: datetime | None
    next_run: datetime | None
    consecutive_failures: int
    interval: timedelta | None = None
    suspended: bool = False


def facts_of(
    jobs: Iterable[JobObservation],
    last_success: datetime | None,
    next_run: datetime | None,
    consecutive_failures: int,
    interval: timedelta | None = None,
    *,
    suspended: bool = False,
) -> JobFacts:
    """The facts of one job from the status a pass wrote (last success, next run, the
    failure streak: :mod:`almanac.core.streak`), its Jobs (the last failure among those
    kept) and its schedule's interval."""
    failures = [j.completion_time for j in jobs if j.phase is RunPhase.FAILED and j.completion_time]
    last_failure = max(failures, default=None)
    return JobFacts(last_success, last_failure, next_run, consecutive_failures, interval, suspended)


def facts_from_status(
    jobs: Iterable[JobObservation],
    status: Mapping[str, Any],
    interval: timedelta | None,
    *,
    suspended: bool,
) -> JobFacts:
    """:func:`facts_of` with the times and streak read from the status a pass wrote."""
    return facts_of(
        jobs,
        _instant(status.get("lastSuccessfulTime")),
        _instant(status.get("nextRunTime")),
        int(status.get("consecutiveFailures") or 0),
        interval,
        suspended=suspended,
    )


def _instant(text: str | None) -> datetime | None:
    """A status timestamp (RFC 3339, ``Z``) as a datetime."""
    return datetime.fromisoformat(text.replace("Z", "+00:00")) if text else None


@dataclass
class _Durations:
    """One job's histogram: counts per bucket (not cumulative), their sum and count."""

    counts: list[int] = field(default_factory=lambda: [0] * len(DURATION_BUCKETS))
    total: float = 0.0
    runs: int = 0

    def add(self, seconds: float) -> None:
        for index, bound in enumerate(DURATION_BUCKETS):
            if seconds <= bound:
                self.counts[index] += 1
                break
        self.total += seconds
        self.runs += 1

    def buckets(self) -> list[tuple[str, float]]:
        out, running = [], 0
        for bound, count in zip(DURATION_BUCKETS, self.counts, strict=True):
            running += count
            out.append((str(bound), float(running)))
        return [*out, ("+Inf", float(self.runs))]


class JobSeries(Collector):
    def __init__(self, registry: CollectorRegistry, limit: int = DEFAULT_LIMIT) -> None:
        self.limit = limit
        self._facts: dict[Key, JobFacts] = {}
        self._durations: dict[Key, _Durations] = {}
        #: Per job, the schedule its interval was computed for (recomputed on an edit only).
        self._intervals: dict[Key, tuple[CompiledSchedule, timedelta | None]] = {}
        self._omitted: set[Key] = set()
        registry.register(self)

    def _admits(self, key: Key) -> bool:
        if key in self._facts or len(self._facts) < self.limit:
            self._omitted.discard(key)  # room was made (a job deleted, the limit raised)
            return True
        self._omitted.add(key)
        return False

    def observe(self, key: Key, facts: JobFacts) -> None:
        if self._admits(key):
            self._facts[key] = facts

    def interval(
        self, key: Key, compiled: CompiledSchedule | None, now: datetime
    ) -> timedelta | None:
        """The schedule's longest gap between slots (``None``: no schedule, or at most
        one slot left), cached per schedule: cron slots cost a search each."""
        if compiled is None or not self._admits(key):
            return None
        cached = self._intervals.get(key)
        if cached is None or cached[0] != compiled:
            cached = (compiled, compiled.longest_gap(now))
            self._intervals[key] = cached
        return cached[1]

    def observe_run(self, key: Key, job: JobObservation) -> None:
        """A finished run's duration (Job creation to completion) into the job's histogram."""
        if job.start_time is None or job.completion_time is None or key not in self._facts:
            return
        seconds = max(0.0, (job.completion_time - job.start_time).total_seconds())
        self._durations.setdefault(key, _Durations()).add(seconds)

    def forget(self, key: Key) -> None:
        self._facts.pop(key, None)
        self._durations.pop(key, None)
        self._intervals.pop(key, None)
        self._omitted.discard(key)

    def collect(self) -> Iterator[Metric]:
        families = {
            "last_success": GaugeMetricFamily(
                "almanac_job_last_success_timestamp_seconds",
                "When the job's latest successful run finished (Unix time).",
                labels=LABELS,
            ),
            "last_failure": GaugeMetricFamily(
                "almanac_job_last_failure_timestamp_seconds",
                "When the job's latest failed run finished (Unix time).",
                labels=LABELS,
            ),
            "next_run": GaugeMetricFamily(
                "almanac_job_next_run_timestamp_seconds",
                "The job's next scheduled slot (Unix time).",
                labels=LABELS,
            ),
        }
        streak = GaugeMetricFamily(
            "almanac_job_consecutive_failures",
            "Runs failed for good since the job's last success or resume.",
            labels=LABELS,
        )
        interval = GaugeMetricFamily(
            "almanac_job_interval_seconds",
            "The longest gap between the job's next 16 slots (none: no next two slots).",
            labels=LABELS,
        )
        suspended = GaugeMetricFamily(
            "almanac_job_suspended",
            "1 while spec.suspend is true (by hand, or spec.pauseAfterFailures): not overdue.",
            labels=LABELS,
        )
        for (namespace, name), facts in self._facts.items():
            for key, family in families.items():
                instant: datetime | None = getattr(facts, key)
                if instant is not None:
                    family.add_metric([namespace, name], instant.timestamp())
            streak.add_metric([namespace, name], facts.consecutive_failures)
            suspended.add_metric([namespace, name], int(facts.suspended))
            if facts.interval is not None:
                interval.add_metric([namespace, name], facts.interval.total_seconds())
        yield from families.values()
        yield streak
        yield suspended
        yield interval
        yield self._histogram()
        yield GaugeMetricFamily(
            "almanac_job_series_omitted",
            "ScheduledJobs without per-job series (over ALMANAC_JOB_METRICS_LIMIT).",
            value=len(self._omitted),
        )

    def _histogram(self) -> HistogramMetricFamily:
        family = HistogramMetricFamily(
            "almanac_job_run_duration_seconds",
            "Runs finished since this leader started, by duration (Job creation to end).",
            labels=LABELS,
        )
        for (namespace, name), durations in self._durations.items():
            family.add_metric([namespace, name], durations.buckets(), durations.total)
        return family
