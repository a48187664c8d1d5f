"""A run's log over REST: the tail kept with its history row, or its pod's while it runs.

A finished run's pod may be gone (history limits prune its Job), so the operator keeps the
tail of its log with the run (:mod:`almanac.core.logtail`); a run still going has no kept
tail yet, and its pod is read live with the same bounds. Both are scoped like every run
read: the run is first found in the caller's namespace, so another organisation's run id
is the same 404 as one that exists nowhere, and no pod is read for it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from almanac.api.errors import NotFoundError
from almanac.api.identity import Identity
from almanac.api.schemas import RunLogs
from almanac.core.logtail import LogTail, LogTailLimits
from almanac.core.status import RunPhase
from almanac.history.records import RunRecord

if TYPE_CHECKING:
    from almanac.api.service import JobService

__all__ = ["LIVE", "logs_view", "required_logs", "run_logs"]

#: How much of a running run's pod log is read (the operator's defaults for kept tails).
LIVE = LogTailLimits()
_LIVE_PHASES = frozenset({RunPhase.PENDING, RunPhase.RUNNING})


def logs_view(run_id: str, tail: LogTail) -> RunLogs:
    return RunLogs(run_id=run_id, lines=list(tail.lines), truncated=tail.truncated)


async def run_logs(service: JobService, record: RunRecord) -> RunLogs | None:
    """The log of ``record`` (a run already found in the caller's namespace): kept, else
    live while it runs; ``None`` when there is none (skipped, or ended without a kept tail)."""
    kept = await service.store.get_log(record.scheduledjob_uid, record.run_name)
    if kept is not None:
        return logs_view(record.run_name, kept)
    if record.phase in _LIVE_PHASES:
        live = await service.kube.run_log(record.namespace, record.run_name, LIVE)
        if live is not None:
            return logs_view(record.run_name, live)
    return None


async def required_logs(service: JobService, who: Identity, job_id: str, run_id: str) -> RunLogs:
    """``GET /jobs/{job_id}/runs/{run_id}/logs``: the log, or a 404 saying why there is none."""
    record = await service.runs.get_run(who, job_id, run_id)
    logs = await run_logs(service, record)
    if logs is None:
        why = (
            "a skipped slot never ran"
            if record.phase is RunPhase.SKIPPED
            else "its pod has not started"
            if record.phase in _LIVE_PHASES
            else "no tail was kept (the operator keeps ALMANAC_HISTORY_LOG_LINES lines of "
            "runs that end; this one ended before, or with 0)"
        )
        raise NotFoundError(f"run {run_id!r} has no log: {why}", "run_id")
    return logs
