"""Decision values returned by the core and executed by the operator's loops.

Keeping decisions as plain data (style rule 3) lets the scheduler tick read as a script and
lets tests assert outcomes without a cluster: the core says *what* to do, the operator does
it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from almanac.core.status import TriggerKind

__all__ = ["Buffer", "GiveUp", "Launch", "RetryAfter", "Skip", "SkipReason", "Wait"]


class SkipReason(StrEnum):
    """Why a slot did not run; stable strings for status, events and metrics."""

    SUSPENDED = "suspended"
    OVERLAP_FORBIDDEN = "overlap_forbidden"
    BUFFER_FULL = "buffer_full"
    #: Missed while the operator was away and not caught up (outside ``catchUp.window`` or
    #: beyond ``catchUp.maxRuns``).
    MISSED = "missed"
    MAX_RUNS_REACHED = "max_runs_reached"


@dataclass(frozen=True)
class Launch:
    """Create the Job for ``slot`` (after deleting the Jobs in ``replace``, if any).

    ``not_before`` is the slot plus its jitter: the earliest instant the Job may start.
    """

    slot: datetime
    trigger: TriggerKind = TriggerKind.SCHEDULE
    attempt: int = 1
    not_before: datetime | None = None
    replace: tuple[str, ...] = ()


@dataclass(frozen=True)
class Skip:
    """Do not run ``slot``; count it in ``status.counts.skipped``."""

    slot: datetime | None
    reason: SkipReason


@dataclass(frozen=True)
class Wait:
    """Nothing to do before ``until``."""

    until: datetime


@dataclass(frozen=True)
class Buffer:
    """Queue ``slot`` (BufferOne): launch it when the active run finishes."""

    slot: datetime


@dataclass(frozen=True)
class RetryAfter:
    """Launch attempt ``attempt`` once ``delay`` has passed since the failure."""

    attempt: int
    delay: timedelta


@dataclass(frozen=True)
class GiveUp:
    """The run failed for good: no attempt left (or the failure is not retryable)."""

    attempts: int
    reason: str
