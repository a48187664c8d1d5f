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

The same count-each-run-once walk decides what ``spec.notifications`` tells
(:mod:`almanac.core.notifyrules`): each run it counts, and the pause. The mark also keeps
whether the newest deciding run failed (``failing``), which a resume does not clear: the
success after a pause, a fix and a resume is a recovery.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from almanac.core.actions import Notify, SuspendJob
from almanac.core.notifymodels import NotifyOn
from almanac.core.notifyrules import decides, run_outcomes, subscribed
from almanac.core.retry import will_retry
from almanac.core.runstatus import finish_key
from almanac.core.snapshot import Snapshot
from almanac.core.status import RunPhase, StreakMark
from almanac.core.vocabulary import ConditionType

__all__ = ["Streak", "pause_reason", "track_streak"]


@dataclass(frozen=True)
class Streak:
    """The streak after a pass: its count, the newest run counted, whether this pass
    suspends the job for it (``pause``: the reason it writes), and what it tells
    ``spec.notifications`` (``notices``; a pause's own notice comes with it)."""

    count: int
    mark: StreakMark | None
    pause: str | None = None
    notices: tuple[Notify, ...] = ()
    notify_pause: bool = False

    def actions(self) -> tuple[SuspendJob | Notify, ...]:
        """What the pass does about the streak: tell the runs it counted, suspend the job
        (and tell that), or nothing."""
        if self.pause is None or self.mark is None:
            return self.notices
        told = (Notify(self.mark.job, paused=self.pause),) if self.notify_pause else ()
        return (*self.notices, SuspendJob(self.pause, self.mark.job), *told)

    def status_fields(self) -> dict[str, object]:
        """The status fields that carry the streak to the next pass (and process)."""
        mark = (
            self.mark.model_dump(mode="json", by_alias=True, exclude_none=True)
            if self.mark
            else None
        )
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
    failing = bool(mark and mark.failing) or count > 0
    after: tuple[datetime, str] | None = (mark.finished, mark.job) if mark else None
    new = sorted(
        (j for j in s.jobs.values() if j.finished and (after is None or finish_key(j) > after)),
        key=finish_key,
    )
    entries = spec.notifications or ()
    notices: list[Notify] = []
    for job in new:
        outcomes = run_outcomes(spec.retry, job, failing)
        if outcomes and subscribed(entries, outcomes):
            notices.append(Notify(job.name, outcomes, job))
        if job.phase is RunPhase.SUCCEEDED:
            count = 0
        elif job.phase is RunPhase.FAILED and not will_retry(spec.retry, job.attempt, job.phase):
            count += 1
        if decides(spec.retry, job):
            failing = job.phase is RunPhase.FAILED
    if new:
        finished, name = finish_key(new[-1])
        mark = StreakMark(job=name, finished=finished, failing=failing or None)
    elif mark is not None and bool(mark.failing) != failing:
        mark = mark.model_copy(update={"failing": failing or None})
    if _was_suspended(s) and not spec.suspend:
        count = 0
    limit = spec.pause_after_failures
    pause = limit is not None and count >= limit and not spec.suspend
    reason = pause_reason(limit) if pause and limit else None
    told = reason is not None and subscribed(entries, (NotifyOn.FAILED,))
    return Streak(count, mark, reason, tuple(notices), told)
