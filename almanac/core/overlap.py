"""Overlap policy: what a due slot does while earlier runs are still active."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import TypeVar

from almanac.core.decisions import Buffer, Launch, Skip, SkipReason
from almanac.core.models import OverlapPolicy
from almanac.core.status import ActiveRun, TriggerKind

__all__ = ["backfill_releases", "decide_overlap", "release_buffered"]

Item = TypeVar("Item")


def decide_overlap(
    policy: OverlapPolicy,
    launch: Launch,
    active: Sequence[ActiveRun],
    *,
    buffered: datetime | None = None,
) -> Launch | Skip | Buffer:
    """Apply ``policy`` to a planned ``launch``.

    Parameters
    ----------
    policy
        The ScheduledJob's ``overlapPolicy``.
    launch
        The launch the schedule planned.
    active
        Runs whose Jobs have not finished.
    buffered
        Slot already queued under BufferOne, if any.

    Returns
    -------
    Launch | Skip | Buffer
        ``Allow`` → the launch; ``Forbid`` → skip; ``Replace`` → the launch carrying the
        names of the Jobs to delete first; ``BufferOne`` → queue the slot if the queue is
        empty, else skip it (the queue holds one slot, bounding work after a long run).
    """
    if not active or policy is OverlapPolicy.ALLOW:
        return launch
    if policy is OverlapPolicy.FORBID:
        return Skip(launch.slot, SkipReason.OVERLAP_FORBIDDEN)
    if policy is OverlapPolicy.REPLACE:
        names = tuple(run.job for run in active)
        return Launch(launch.slot, launch.trigger, launch.attempt, launch.not_before, names)
    if buffered is None or buffered == launch.slot:
        return Buffer(launch.slot)
    return Skip(launch.slot, SkipReason.BUFFER_FULL)


def release_buffered(buffered: datetime | None, active: Sequence[ActiveRun]) -> Launch | None:
    """Launch the BufferOne slot once nothing is active any more."""
    if buffered is None or active:
        return None
    return Launch(buffered, TriggerKind.SCHEDULE)


def backfill_releases(
    policy: OverlapPolicy, due: Sequence[tuple[datetime, Item]], in_flight: int
) -> list[Item]:
    """The due backfill runs that start now, given ``in_flight`` unfinished runs.

    ``Allow`` starts them all. Under every other policy they start one at a time in slot
    order, each once nothing else is running: a backfill is an explicit ask, so it waits
    where a due slot would be skipped or buffered, and it never replaces a running run.
    """
    ordered = [item for _, item in sorted(due, key=lambda pair: pair[0])]
    if policy is OverlapPolicy.ALLOW:
        return ordered
    return ordered[:1] if in_flight == 0 else []
