"""The failure streak behind ``spec.pauseAfterFailures``, as a pure function of a snapshot.

A job failing every five seconds fills the history, pages people and burns a cluster's
quota; ``pauseAfterFailures: N`` suspends it once ``N`` runs in a row failed *for good*.
What counts, and why:

* a failed attempt that will be retried (:func:`~almanac.core.retry.will_retry`) is not
  yet a failure of the job: only its last attempt decides (a job with three attempts that
  succeeds on the third never failed);
* a success ends the streak; a cancelled run neither adds nor ends one;
* resuming the job (``spec.suspend`` turned false by anyone: kubectl, GitOps, REST) clears
  it, so a resumed job gets ``N`` fresh chances.

The count lives in status (``consecutiveFailures``) with the newest run it has counted
(``failuresCountedTo``), not recomputed from the Jobs: history limits delete failed Jobs
(``history.failedJobs`` may be smaller than ``N``), and status survives a restart or a
failover, so a new leader neither forgets the streak nor counts a run twice. A run that
finishes out of order, older than the mark when first seen, is not counted: passes follow
every Job change, so that takes a Job whose end the watch delivered after a newer one's.

A resume is read from the status too: the last pass saw the job suspended (its
``Suspended`` condition is True) and the spec now says otherwise. The pass that decides a
pause does not yet see the spec suspended, so a suspension whose write was lost is asked
for again by the next pass instead of being mistaken for a resume.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from almanac.core.actions import SuspendJob
from almanac.core.retry import will_retry
from almanac.core.runstatus import finish_key
from almanac.core.snapshot import Snapshot
from almanac.core.status import RunPhase, StreakMark
from almanac.core.vocabulary import ConditionType

__all__ = ["Streak", "pause_reason", "track_streak"]


@dataclass(frozen=True)
class Streak:
    """The streak after a pass: its count, the newest run counted, and whether this pass
    suspends the job for it (``pause``: the reason it writes)."""

    count: int
    mark: StreakMark | None
    pause: str | None = None

    def actions(self) -> tuple[SuspendJob, ...]:
        """What the pass does about the streak: suspend the job, or nothing."""
        if self.pause is None or self.mark is None:
            return ()
        return (SuspendJob(self.pause, self.mark.job),)

    def status_fields(self) -> dict[str, object]:
        """The status fields that carry the streak to the next pass (and process)."""
        mark = self.mark.model_dump(mode="json", by_alias=True) if self.mark else None
        return {"consecutiveFailures": self.count, "failuresCountedTo": mark}


def pause_reason(limit: int) -> str:
    """The suspend reason (annotation, Event, Ready condition) of a pause after ``limit``
    failures: it names the field so that whoever reads it knows what paused the job."""
    return (
        f"paused after {limit} consecutive failed runs (spec.pauseAfterFailures); "
        "fix the cause, then resume the job"
    )


def _was_suspended(s: Snapshot) -> bool:
    return any(
        c.type is ConditionType.SUSPENDED and c.status == "True" for c in s.status.conditions or []
    )


def track_streak(s: Snapshot) -> Streak:
    """Count the runs finished since the mark, clear the count on a resume, and decide a
    pause when the count reaches ``spec.pauseAfterFailures`` on a job not suspended."""
    assert s.spec is not None
    spec, status = s.spec, s.status
    count = status.consecutive_failures or 0
    mark = status.failures_counted_to
    after: tuple[datetime, str] | None = (mark.finished, mark.job) if mark else None
    new = sorted(
        (j for j in s.jobs.values() if j.finished and (after is None or finish_key(j) > after)),
        key=finish_key,
    )
    for job in new:
        if job.phase is RunPhase.SUCCEEDED:
            count = 0
        elif job.phase is RunPhase.FAILED and not will_retry(spec.retry, job.attempt, job.phase):
            count += 1
    if new:
        finished, name = finish_key(new[-1])
        mark = StreakMark(job=name, finished=finished)
    if _was_suspended(s) and not spec.suspend:
        count = 0
    limit = spec.pause_after_failures
    pause = limit is not None and count >= limit and not spec.suspend
    return Streak(count, mark, pause_reason(limit) if pause and limit else None)
