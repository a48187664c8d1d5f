"""Which finished Jobs a pass deletes under the history limits, and which it must keep
however old: an event's only record inside its dedup window, and a failed attempt whose
retry is still to come."""

from __future__ import annotations

from datetime import datetime

from almanac.core.runs import JobObservation
from almanac.core.runstatus import due_retries, jobs_to_prune
from almanac.core.snapshot import Snapshot
from almanac.core.status import TriggerKind

__all__ = ["prune_candidates"]


def prune_candidates(s: Snapshot, now: datetime) -> list[JobObservation]:
    """Finished Jobs beyond the history limits, oldest first. An event run launched
    without a RunRequest is left alone for the event record window: its Job is the event's
    dedup record, which a redelivered event must still meet."""
    assert s.spec is not None
    window = s.event_record_window

    def event_record(job: JobObservation) -> bool:
        return (
            job.trigger is TriggerKind.EVENT
            and job.request is not None
            and job.request not in s.requests
            and (job.completion_time is None or now - job.completion_time < window)
        )

    # A failed attempt whose retry is still to come is kept: the retry reads it.
    awaiting = {
        (run.slot, run.trigger, run.request, run.attempt - 1)
        for run, _ in due_retries(s.jobs.values(), s.spec.retry)
    }

    def kept(job: JobObservation) -> bool:
        return event_record(job) or (job.slot, job.trigger, job.request, job.attempt) in awaiting

    return jobs_to_prune([j for j in s.jobs.values() if not kept(j)], s.spec.history)
