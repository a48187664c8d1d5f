"""Status rebuilt from the world: the ScheduledJob's Jobs decide active runs, the last run,
totals, which finished Jobs history limits remove, and which failed runs retry.

As in the CronJob controller, nothing here trusts the previous status for what the Jobs
can tell; only what Jobs cannot (totals of deleted Jobs, the last success time after
pruning) is carried over.
"""

from __future__ import annotations

import heapq
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta

from almanac.core.decisions import RetryAfter
from almanac.core.models import History, Retry
from almanac.core.retry import decide_retry
from almanac.core.runs import JobObservation, RunRequest
from almanac.core.status import ActiveRun, LastRun, RunCounts, RunPhase

__all__ = [
    "LISTED_ACTIVE",
    "RunSummary",
    "due_retries",
    "finish_key",
    "jobs_to_prune",
    "summarize_runs",
]

#: Active runs named in status (the oldest); ``activeCount`` counts them all. A job with
#: hundreds of runs in flight (an event burst, pods Pending) would otherwise rewrite all
#: of them on every status patch.
LISTED_ACTIVE = 20


@dataclass(frozen=True)
class RunSummary:
    active: tuple[ActiveRun, ...]  # the oldest LISTED_ACTIVE
    active_count: int
    last_run: LastRun | None
    last_successful_time: datetime | None
    counts: RunCounts
    #: Start of the newest run, finished or not (``kubectl get``'s LAST RUN).
    last_start_time: datetime | None = None
    #: Active runs waiting in the launch queue (their Jobs suspended by a limit).
    queued_count: int = 0


def finish_key(job: JobObservation) -> tuple[datetime, str]:
    """The order finished runs are read in: completion time (the slot if unknown), then
    name, so two runs finishing in the same second still have a fixed order."""
    return (job.completion_time or job.slot, job.name)


def summarize_runs(
    jobs: Iterable[JobObservation],
    *,
    previous_counts: RunCounts,
    previous_success: datetime | None,
    messages: Mapping[str, str],
    previous_start: datetime | None = None,
) -> RunSummary:
    """Active runs, the latest finished run and totals from the Jobs that exist now.

    The newest start is carried over (``previous_start``) like the last success: the Jobs
    that started last may be pruned, and it must not move with slots that never ran (a
    suspended job skips slots; its LAST RUN stays when its last run started)."""
    jobs = list(jobs)
    running = [j for j in jobs if not j.finished]
    active = tuple(
        ActiveRun(
            job=j.name,
            slot=j.slot,
            attempt=j.attempt,
            start_time=j.start_time,
            trigger=j.trigger,
            queued=True if j.queued is not None else None,
            queue_reason=j.queued or None,
        )
        for j in heapq.nsmallest(LISTED_ACTIVE, running, key=lambda j: (j.slot, j.name))
    )
    finished = sorted((j for j in jobs if j.finished), key=finish_key)
    last = finished[-1] if finished else None
    last_run = (
        LastRun(
            job=last.name,
            slot=last.slot,
            trigger=last.trigger,
            phase=last.phase,
            start_time=last.start_time,
            completion_time=last.completion_time,
            message=messages.get(last.name, "")[:4096],
        )
        if last
        else None
    )
    successes = [
        j.completion_time for j in finished if j.phase is RunPhase.SUCCEEDED and j.completion_time
    ]
    if previous_success is not None:
        successes.append(previous_success)
    counts = previous_counts.model_copy(
        update={
            "succeeded": previous_counts.pruned_succeeded
            + sum(j.phase is RunPhase.SUCCEEDED for j in finished),
            "failed": previous_counts.pruned_failed
            + sum(j.phase is RunPhase.FAILED for j in finished),
        }
    )
    starts = [j.start_time for j in jobs if j.start_time is not None]
    if previous_start is not None:
        starts.append(previous_start)
    return RunSummary(
        active,
        len(running),
        last_run,
        max(successes, default=None),
        counts,
        last_start_time=max(starts, default=None),
        queued_count=sum(j.queued is not None for j in running),
    )


def jobs_to_prune(
    jobs: Iterable[JobObservation], history: History, recorded: Iterable[str] | None = None
) -> list[JobObservation]:
    """Finished Jobs beyond ``history`` limits, oldest first.

    With ``recorded`` given, only Jobs whose final history row exists may go (invariant
    nothing-lost: a run is never lost by deleting its Job too early).
    """
    allowed = None if recorded is None else set(recorded)
    jobs = list(jobs)  # read once per phase below (a generator would serve only the first)
    doomed: list[JobObservation] = []
    for phase, keep in (
        (RunPhase.SUCCEEDED, history.successful_jobs),
        (RunPhase.FAILED, history.failed_jobs),
    ):
        done = sorted((j for j in jobs if j.phase is phase), key=finish_key)
        doomed += done[: max(0, len(done) - keep)]
    return [j for j in doomed if allowed is None or j.name in allowed]


def due_retries(jobs: Iterable[JobObservation], retry: Retry) -> list[tuple[RunRequest, datetime]]:
    """Failed runs with attempts left and no next-attempt Job yet: (run, due instant)."""
    jobs = list(jobs)
    # Event runs share slots (seconds) with each other: their RunRequest tells them apart.
    present = {(j.slot, j.trigger, j.request, j.attempt) for j in jobs}
    due: list[tuple[RunRequest, datetime]] = []
    for job in jobs:
        decision = decide_retry(retry, job.attempt, job.phase)
        if not isinstance(decision, RetryAfter):
            continue
        if (job.slot, job.trigger, job.request, decision.attempt) in present:
            continue
        failed_at = job.completion_time or job.slot
        due.append(
            (
                RunRequest(job.slot, job.trigger, decision.attempt, request=job.request),
                failed_at + max(decision.delay, timedelta(0)),
            )
        )
    return due
