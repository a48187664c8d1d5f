"""What a reconcile pass asks of the run history, outside the pure pass: which Jobs due
for pruning must stay until their final row is stored (invariant nothing-lost), and the
rows of the slots the pass skipped (within each job's hourly budget)."""

from __future__ import annotations

from datetime import datetime

from almanac.core.actions import CountSkip
from almanac.core.pruning import prune_candidates
from almanac.core.snapshot import Snapshot

from .recording import RunRecorder, SkipRowBudget, skipped_record
from .tracked import Tracked
from .writer import BackgroundWriter

__all__ = ["held_for_history", "record_skips"]


async def held_for_history(
    recorder: RunRecorder | None,
    writer: BackgroundWriter,
    t: Tracked,
    snapshot: Snapshot,
    now: datetime,
) -> frozenset[str]:
    """Jobs due for pruning whose final history row is not stored yet: the reconcile
    keeps them (one evicted from the full buffer is recorded again)."""
    if recorder is None or snapshot.spec is None or snapshot.template is None:
        return frozenset()
    uid, held = snapshot.ref.uid, set()
    for job in prune_candidates(snapshot, now):
        if await recorder.may_delete(uid, job.name):
            continue
        held.add(job.name)
        if recorder.requeue_if_lost(uid, job.name):
            writer.rerecord(t, job.name)  # evicted from the buffer: again
    return frozenset(held)


def record_skips(
    recorder: RunRecorder | None,
    budget: SkipRowBudget,
    t: Tracked,
    action: CountSkip,
    now: datetime,
) -> None:
    """A history row per skipped slot the pass named, within the job's hourly budget."""
    if recorder is None or t.spec is None:
        return
    for slot in action.slots:
        if budget.take(t.ref.uid, now):
            recorder.record(skipped_record(t.ref, t.spec.template, slot, action.reason))
