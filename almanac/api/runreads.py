"""The facade's reads of the run history: a job's runs, one run by its id, a job's stats
and the organisation's summary.

Every read is scoped to the caller's namespace (:meth:`JobService.namespace`): a run id,
like a job id, that is not there answers the same 404 as one that exists nowhere, so an
organisation probing another's run ids learns nothing. A run is found by its id alone
(``GET /executions/{run_id}``) because run ids are Job names, unique in a namespace: the
caller needs no job id, and the run stays readable after its job is deleted.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from almanac.api.errors import BadRequestError, NotFoundError
from almanac.api.identity import Identity
from almanac.api.mapping import display_name, run_view
from almanac.api.schemas import JobStats, LastExecution, NextExecution
from almanac.api.summary import MetricsSummary, Period, period_window, summary_view
from almanac.history.records import RunRecord, RunStats
from almanac.history.states import LAUNCHED, RunState
from almanac.history.store import RunPage

if TYPE_CHECKING:
    from almanac.api.service import JobService

__all__ = ["RunReads", "RunWindow", "stats_view"]


@dataclass(frozen=True)
class RunWindow:
    """Which of a job's runs to list: slots from ``since`` to ``until`` (both included,
    either open), newest first or, with ``oldest_first``, in slot order."""

    since: datetime | None = None
    until: datetime | None = None
    oldest_first: bool = False

    def __post_init__(self) -> None:
        """An inverted window would list nothing, silently: refuse it naming ``until``."""
        if self.since is not None and self.until is not None and self.until < self.since:
            raise BadRequestError(
                f"must not be before since ({self.since.isoformat()}); swap the two or "
                "widen the window",
                "until",
            )


def _last_execution(record: RunRecord) -> LastExecution:
    run = run_view(record)
    duration = record.duration
    return LastExecution(
        run_id=run.id,
        status=run.status,
        started_at=run.start_time,
        duration_seconds=duration.total_seconds() if duration is not None else None,
    )


def stats_view(
    obj: dict[str, Any], stats: RunStats, last: RunRecord | None, now: datetime
) -> JobStats:
    """The stats body of ScheduledJob ``obj``: the history's aggregates, its newest run
    ``last`` (launched: a skipped slot is no execution) and its next slot as the operator
    last computed it."""
    next_run = (obj.get("status") or {}).get("nextRunTime")
    return JobStats.model_validate(
        asdict(stats)
        | {
            "job_id": obj["metadata"]["uid"],
            "job_name": display_name(obj),
            "last_execution": _last_execution(last) if last is not None else None,
            "next_execution": NextExecution(scheduled_at=next_run) if next_run else None,
            "generated_at": now,
        }
    )


class RunReads:
    """History reads on the service's clients and clock (``JobService.runs``)."""

    def __init__(self, jobs: JobService) -> None:
        self.jobs = jobs

    async def list_runs(
        self,
        who: Identity,
        job_id: str,
        *,
        statuses: tuple[RunState, ...],
        window: RunWindow,
        limit: int,
        offset: int,
    ) -> RunPage:
        obj = await self.jobs.get_job(who, job_id)
        return await self.jobs.store.list_runs(
            obj["metadata"]["namespace"],
            scheduledjob_uid=job_id,
            statuses=statuses,
            since=window.since,
            until=window.until,
            oldest_first=window.oldest_first,
            limit=limit,
            offset=offset,
        )

    async def get_run(self, who: Identity, job_id: str, run_id: str) -> RunRecord:
        """One run of one job (``GET /jobs/{job_id}/runs/{run_id}``)."""
        obj = await self.jobs.get_job(who, job_id)
        record = await self.jobs.store.get_run(job_id, run_id)
        if record is None or record.namespace != obj["metadata"]["namespace"]:
            raise NotFoundError(f"no run {run_id!r} of this job", "run_id")
        return record

    async def get_execution(self, who: Identity, run_id: str) -> RunRecord:
        """One run of the caller's organisation by its id alone, its job there or not."""
        namespace = await self.jobs.namespace(who)
        record = await self.jobs.store.find_run(namespace, run_id)
        if record is None:
            raise NotFoundError(f"no run {run_id!r}", "run_id")
        return record

    async def stats(self, who: Identity, job_id: str) -> JobStats:
        obj = await self.jobs.get_job(who, job_id)
        namespace = obj["metadata"]["namespace"]
        stats = await self.jobs.store.stats(namespace, job_id)
        newest, _ = await self.jobs.store.list_runs(
            namespace, scheduledjob_uid=job_id, statuses=LAUNCHED, limit=1
        )
        return stats_view(obj, stats, newest[0] if newest else None, self.jobs.clock())

    async def summary(self, who: Identity, period: Period) -> MetricsSummary:
        """The organisation's jobs now and its runs over ``period``, ending now."""
        namespace = await self.jobs.namespace(who)
        now = self.jobs.clock()
        jobs = await self.jobs.kube.list_jobs(namespace, cached=True)
        history = await self.jobs.store.summarize(namespace, *period_window(period, now))
        return summary_view(period, jobs, history, now)
