"""Which run outcomes ``spec.notifications`` tells about, to whom, how often. Pure.

Decided once per run, in the pass that counts it in the failure streak
(:func:`almanac.core.streak.track_streak`): the streak's mark in status says which runs
were counted, so a restarted or new leader neither forgets a run nor tells about it twice
(the delivery ids, :func:`notice_id`, make a repeated decision harmless downstream).

* ``Failed``: a run failed *for good* (no retry follows it); ``DeadLettered`` as well when
  the job has retries and they are spent (:func:`~almanac.core.retry.exhausted`);
* ``Succeeded``; ``Recovered`` as well when the newest run decided before it failed for
  good (``failing`` in the streak mark: a resume clears the count, not this, so the
  success after a pause, a fix and a resume is a recovery);
* a pause by ``spec.pauseAfterFailures`` goes to the ``Failed`` subscribers.

Each entry gets at most one message per run: the most specific outcome it subscribes to
(an entry with ``[Failed]`` hears a dead-lettered run as ``Failed``; one with ``[Succeeded,
Recovered]`` hears a recovery once, as ``Recovered``). Per job, at most a number of run
messages an hour (:class:`NoticeBudget`); the ones over it are counted and the next message
says how many were left out.
"""

from __future__ import annotations

import uuid
from collections import deque
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Final

from almanac.core.models import Retry
from almanac.core.notifymodels import Notification, NotifyOn
from almanac.core.retry import exhausted, will_retry
from almanac.core.runs import JobObservation
from almanac.core.status import RunPhase

__all__ = [
    "NOTICE_NAMESPACE",
    "PAUSED",
    "RUN_PATH",
    "NoticeBudget",
    "decides",
    "notice_id",
    "pick_outcome",
    "run_link",
    "run_outcomes",
]

#: What a pause is called in messages (it is sent to the ``Failed`` subscribers).
PAUSED: Final = "Paused"
#: The REST path of one run of a job (the facade's ``getRun``; a unit test holds them equal).
RUN_PATH: Final = "/api/scheduler/v1/jobs/{job_id}/runs/{run_id}"
#: UUIDv5 namespace of delivery ids (one per run, outcome and entry).
NOTICE_NAMESPACE: Final = uuid.UUID("3c7d9a8e-2f41-5b0c-8e6a-0d1e2f3a4b5c")
_HOUR: Final = timedelta(hours=1)
_BUDGETS_KEPT: Final = 10_000


def decides(retry: Retry, job: JobObservation) -> bool:
    """Whether ``job`` decides the job's standing: a success, or a failure no retry follows
    (a failed attempt that will be retried, a cancelled run decide nothing)."""
    if job.phase is RunPhase.SUCCEEDED:
        return True
    return job.phase is RunPhase.FAILED and not will_retry(retry, job.attempt, job.phase)


def run_outcomes(retry: Retry, job: JobObservation, failing: bool) -> tuple[NotifyOn, ...]:
    """The outcomes of finished run ``job``, most specific first (empty: none to tell);
    ``failing``: the run decided before it failed for good."""
    if job.phase is RunPhase.SUCCEEDED:
        if failing:
            return (NotifyOn.RECOVERED, NotifyOn.SUCCEEDED)
        return (NotifyOn.SUCCEEDED,)
    if not decides(retry, job):
        return ()
    if exhausted(retry, job.attempt, job.phase):
        return (NotifyOn.DEAD_LETTERED, NotifyOn.FAILED)
    return (NotifyOn.FAILED,)


def pick_outcome(entry: Notification, outcomes: Sequence[NotifyOn]) -> NotifyOn | None:
    """The outcome ``entry`` hears a run as: the first of ``outcomes`` it subscribes to."""
    wanted = set(entry.on)
    return next((o for o in outcomes if o in wanted), None)


def notice_id(scheduledjob_uid: str, run: str, what: str, entry: int) -> str:
    """The stable id of one delivery: the same on every replica and replay, so the outbox
    stores it once (and a receiver can drop a redelivery by it)."""
    return str(uuid.uuid5(NOTICE_NAMESPACE, f"{scheduledjob_uid}/{run}/{what}/{entry}"))


def run_link(base: str | None, scheduledjob_uid: str, run: str | None) -> str | None:
    """The run's REST address under ``base`` (the job's for ``run`` ``None``; ``None``
    without a base URL)."""
    if not base:
        return None
    path = RUN_PATH.format(job_id=scheduledjob_uid, run_id=run or "")
    return base.rstrip("/") + (path if run else path.rsplit("/runs/", 1)[0])


@dataclass
class _Window:
    sent: deque[datetime] = field(default_factory=deque)
    suppressed: int = 0


class NoticeBudget:
    """At most ``per_hour`` run messages per ScheduledJob in any hour.

    :meth:`take` answers whether one more may go now and, when it may, how many were held
    back since the last one that went (the message says so, then the count starts again).
    In memory, on the leader: a new leader starts with full budgets, which at worst sends
    one more hour's worth.
    """

    def __init__(self, per_hour: int) -> None:
        self.per_hour = per_hour
        self._jobs: dict[str, _Window] = {}

    def take(self, uid: str, now: datetime) -> tuple[bool, int]:
        """``(True, suppressed)`` and one message counted, or ``(False, 0)`` and one more
        suppressed."""
        if len(self._jobs) >= _BUDGETS_KEPT:
            self._forget_quiet(now)
        window = self._jobs.setdefault(uid, _Window())
        while window.sent and window.sent[0] <= now - _HOUR:
            window.sent.popleft()
        if len(window.sent) >= self.per_hour:
            window.suppressed += 1
            return False, 0
        window.sent.append(now)
        held, window.suppressed = window.suppressed, 0
        return True, held

    def suppressed(self, uid: str) -> int:
        """Messages held back for ``uid`` since the last one sent."""
        window = self._jobs.get(uid)
        return window.suppressed if window else 0

    def _forget_quiet(self, now: datetime) -> None:
        self._jobs = {
            uid: w
            for uid, w in self._jobs.items()
            if w.suppressed or (w.sent and w.sent[-1] > now - _HOUR)
        }


def subscribed(entries: Iterable[Notification], outcomes: Sequence[NotifyOn]) -> bool:
    """Whether any entry hears a run with ``outcomes``."""
    return any(pick_outcome(e, outcomes) is not None for e in entries)
