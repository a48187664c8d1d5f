"""The organisation's metrics summary (``GET /metrics/summary``): its body and how it is
made from the jobs and the history. Pure: the service brings the ScheduledJobs and the
history's :class:`~almanac.history.RunSummary`.

Seed 004's ``SchedulerMetrics`` for one organisation, in this API's words: jobs by the
status the job JSON shows (:func:`~almanac.api.mapping.job_status`), runs by the run
statuses the runs list filters on, durations in seconds as in the job stats. Seed 004's
``system`` block (workers, memory, CPU) is left out: those are the process's, exported on
``/metrics`` for Prometheus, not the organisation's. Dead letters are not counted yet
(Almanac keeps none); the queue gains the count once they exist.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping
from datetime import datetime, timedelta
from typing import Any, Final, Literal

from pydantic import AwareDatetime, BaseModel, Field

from almanac.api.mapping import job_status
from almanac.api.schemas import RunCounts
from almanac.history.records import RunSummary

__all__ = [
    "PERIODS",
    "JobCounts",
    "MetricsSummary",
    "Period",
    "RunCounts",
    "RunPerformance",
    "RunQueue",
    "TimeRange",
    "period_window",
    "summary_view",
]

Period = Literal["1h", "24h", "7d", "30d"]
#: How far back each ``period`` reaches from now.
PERIODS: Final[dict[str, timedelta]] = {
    "1h": timedelta(hours=1),
    "24h": timedelta(days=1),
    "7d": timedelta(days=7),
    "30d": timedelta(days=30),
}


class JobCounts(BaseModel):
    """The organisation's jobs now, by the status the job JSON shows."""

    total: int
    scheduled: int
    paused: int
    running: int
    failed: int
    completed: int
    cancelled: int


class RunPerformance(BaseModel):
    """How the period's runs went; durations in seconds, over runs that finished."""

    success_rate: float | None = Field(description="succeeded / (succeeded + failed).")
    avg_seconds: float | None
    p50_seconds: float | None
    p95_seconds: float | None
    p99_seconds: float | None


class RunQueue(BaseModel):
    """Runs launched and not finished now, whatever their slot. Run-now and backfill
    requests the operator has not launched yet are not counted."""

    running: int = Field(description="Runs whose pod is running.")
    pending: int = Field(description="Runs launched, their pod not started yet.")


class TimeRange(BaseModel):
    """The period: runs whose slot is from ``start`` to ``end``, both included."""

    start: AwareDatetime
    end: AwareDatetime


class MetricsSummary(BaseModel):
    """Seed 004's scheduler metrics for the caller's organisation."""

    period: Period
    jobs: JobCounts
    runs: RunCounts
    performance: RunPerformance
    queue: RunQueue
    time_range: TimeRange
    generated_at: AwareDatetime


def period_window(period: Period, now: datetime) -> tuple[datetime, datetime]:
    """The instants ``period`` spans, ending ``now`` (both included)."""
    return now - PERIODS[period], now


def _job_counts(jobs: Iterable[Mapping[str, Any]]) -> JobCounts:
    statuses: Counter[str] = Counter(job_status(obj) for obj in jobs)
    return JobCounts(
        total=statuses.total(),
        scheduled=statuses["scheduled"],
        paused=statuses["paused"],
        running=statuses["running"],
        failed=statuses["failed"],
        completed=statuses["completed"],
        cancelled=statuses["cancelled"],
    )


def summary_view(
    period: Period,
    jobs: Iterable[Mapping[str, Any]],
    history: RunSummary,
    now: datetime,
) -> MetricsSummary:
    """The body for ``period`` ending ``now``: ``jobs`` are the organisation's
    ScheduledJobs, ``history`` the store's summary of the same window."""
    runs = history.runs
    start, end = period_window(period, now)
    return MetricsSummary(
        period=period,
        jobs=_job_counts(jobs),
        runs=RunCounts.model_validate(runs, from_attributes=True),
        performance=RunPerformance.model_validate(runs, from_attributes=True),
        queue=RunQueue(running=history.running_now, pending=history.pending_now),
        time_range=TimeRange(start=start, end=end),
        generated_at=now,
    )
