"""Catch-up: which slots missed during operator downtime still run.

Catch-up applies to downtime only (a slot the operator saw on time is never "caught up"):
missed slots inside ``catchUp.window`` run, the newest ``catchUp.maxRuns`` of them, oldest
first; every other missed slot is counted as skipped. The work is bounded whatever the
downtime: counts are arithmetic for ``every`` and capped enumerations for cron.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from almanac.core.schedule import CompiledSchedule
from almanac.core.zones import require_aware

__all__ = ["CatchUpPlan", "plan_catch_up"]


@dataclass(frozen=True)
class CatchUpPlan:
    """Outcome of a catch-up computation.

    Attributes
    ----------
    run
        Slots to launch (trigger ``catchup``), oldest first; at most ``maxRuns``.
    skipped
        Missed slots not run (outside the window or beyond ``maxRuns``).
    exact
        False when ``skipped`` was extrapolated from a capped enumeration.
    newest
        The newest missed slot, run or not: the new ``status.lastScheduleTime``.
    missed
        The newest of the skipped slots (at most ``keep``, oldest first): the ones the
        history records as skipped rows; the older ones are only counted.
    """

    run: tuple[datetime, ...]
    skipped: int
    exact: bool = True
    newest: datetime | None = None
    missed: tuple[datetime, ...] = ()


def plan_catch_up(
    schedule: CompiledSchedule,
    *,
    after: datetime,
    now: datetime,
    window: timedelta,
    max_runs: int,
    keep: int = 0,
) -> CatchUpPlan:
    """Plan the missed slots in ``(after, now]``.

    Parameters
    ----------
    schedule
        The compiled schedule (its start/end bounds apply).
    after
        Exclusive lower bound: ``status.lastScheduleTime``, or the creation/edit instant
        (see :func:`almanac.core.plan.schedule_anchor`), never earlier.
    now
        The current instant, passed in: the core never reads the clock.
    window, max_runs
        ``catchUp.window`` and ``catchUp.maxRuns``.
    keep
        How many of the skipped slots to name (the newest), for the history's rows.
    """
    after, now = require_aware(after, "after"), require_aware(now, "now")
    if now <= after:
        return CatchUpPlan((), 0)
    total = schedule.count_between(after, now)
    if total.count == 0:
        return CatchUpPlan((), 0)
    newest = schedule.newest_between(after, now, 1)
    window_start = max(after, now - window)
    run = tuple(schedule.newest_between(window_start, now, max(0, max_runs)))
    skipped = max(0, total.count - len(run))
    ran = set(run)
    named = schedule.newest_between(after, now, keep + len(run)) if keep and skipped else []
    missed = tuple(slot for slot in named if slot not in ran)[-keep:] if keep else ()
    return CatchUpPlan(run, skipped, total.exact, newest[-1] if newest else None, missed)
