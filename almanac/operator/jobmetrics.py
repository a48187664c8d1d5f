"""Per-job series: what "has job X succeeded lately?" alerts need, one set per ScheduledJob.

Fleet-wide counters cannot say that one nightly job has failed every night. For each
ScheduledJob the leader exports the last success, the last failure and the next run as
Unix timestamps, and the failures since the last success, labelled by namespace and name
(as kube-state-metrics does for CronJobs). The series are collected from one dictionary
the reconcile passes update, not kept as labelled gauges; their number is bounded by
``ALMANAC_JOB_METRICS_LIMIT`` (jobs beyond it get none, and are counted), since every label
set costs memory in Prometheus.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime

from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector, CollectorRegistry

from almanac.core.runs import JobObservation
from almanac.core.status import RunPhase

__all__ = ["DEFAULT_LIMIT", "JobFacts", "JobSeries", "facts_of"]

DEFAULT_LIMIT = 1000
Key = tuple[str, str]


@dataclass(frozen=True)
class JobFacts:
    last_success: datetime | None
    last_failure: datetime | None
    next_run: datetime | None
    consecutive_failures: int


def facts_of(
    jobs: Iterable[JobObservation], last_success: datetime | None, next_run: datetime | None
) -> JobFacts:
    """The facts of one job from its Jobs and the status a pass wrote: failures counted
    back from the newest finished run to the first success (only Jobs still kept count)."""
    finished = sorted(
        (j for j in jobs if j.finished and j.completion_time is not None),
        key=lambda j: (j.completion_time, j.name),
        reverse=True,
    )
    failures = [j.completion_time for j in finished if j.phase is RunPhase.FAILED]
    streak = 0
    for job in finished:
        if job.phase is RunPhase.SUCCEEDED:
            break
        streak += job.phase is RunPhase.FAILED
    return JobFacts(last_success, max((f for f in failures if f), default=None), next_run, streak)


class JobSeries(Collector):
    def __init__(self, registry: CollectorRegistry, limit: int = DEFAULT_LIMIT) -> None:
        self.limit = limit
        self._facts: dict[Key, JobFacts] = {}
        self._omitted: set[Key] = set()
        registry.register(self)

    def observe(self, key: Key, facts: JobFacts) -> None:
        if key not in self._facts and len(self._facts) >= self.limit:
            self._omitted.add(key)
            return
        self._facts[key] = facts

    def forget(self, key: Key) -> None:
        self._facts.pop(key, None)
        self._omitted.discard(key)

    def collect(self) -> Iterator[GaugeMetricFamily]:
        labels = ["namespace", "scheduledjob"]
        families = {
            "last_success": GaugeMetricFamily(
                "almanac_job_last_success_timestamp_seconds",
                "When the job's latest successful run finished (Unix time).",
                labels=labels,
            ),
            "last_failure": GaugeMetricFamily(
                "almanac_job_last_failure_timestamp_seconds",
                "When the job's latest failed run finished (Unix time).",
                labels=labels,
            ),
            "next_run": GaugeMetricFamily(
                "almanac_job_next_run_timestamp_seconds",
                "The job's next scheduled slot (Unix time).",
                labels=labels,
            ),
        }
        streak = GaugeMetricFamily(
            "almanac_job_consecutive_failures",
            "Failed runs since the job's last success (among the Jobs kept).",
            labels=labels,
        )
        for (namespace, name), facts in self._facts.items():
            for field, family in families.items():
                instant: datetime | None = getattr(facts, field)
                if instant is not None:
                    family.add_metric([namespace, name], instant.timestamp())
            streak.add_metric([namespace, name], facts.consecutive_failures)
        yield from families.values()
        yield streak
        yield GaugeMetricFamily(
            "almanac_job_series_omitted",
            "ScheduledJobs without per-job series (over ALMANAC_JOB_METRICS_LIMIT).",
            value=len(self._omitted),
        )
