"""Skipped slots as history rows, from the operator's side: each slot a pass names is a
row of phase Skipped with its reason, within the job's hourly budget."""

from __future__ import annotations

from datetime import timedelta

from almanac.core.actions import CountSkip
from almanac.core.decisions import SkipReason
from almanac.core.runs import builtin_template
from almanac.core.status import RunPhase
from almanac.history import BufferedRecorder
from almanac.notify import NotifySettings
from almanac.operator.observability import Metrics
from almanac.operator.recording import SKIPPED_ROWS_PER_HOUR, RunRecorder
from almanac.operator.scheduler import Scheduler
from tests.support.jobbodies import NOW, created_body
from tests.support.runstore import InMemoryRunStore


async def test_named_skipped_slots_become_rows_up_to_the_hourly_budget() -> None:
    store = InMemoryRunStore()
    recorder = RunRecorder(BufferedRecorder(store), NotifySettings())
    s = Scheduler(None, Metrics(), image="img", clock=lambda: NOW, recorder=recorder)  # type: ignore[arg-type]
    body = created_body()
    s.scheduledjob_event(body, deleted=False)
    t = s.find(body["metadata"]["namespace"], body["metadata"]["name"])
    assert t is not None
    slots = tuple(NOW - timedelta(seconds=s) for s in range(SKIPPED_ROWS_PER_HOUR + 5, 0, -1))
    skip = CountSkip(SkipReason.SUSPENDED, len(slots), slots)

    await s.carry_out(t, builtin_template("command", "img"), (skip,), NOW)
    await recorder.buffer.flush()

    rows = list(store.runs.values())
    assert len(rows) == SKIPPED_ROWS_PER_HOUR
    assert {(r.phase, r.reason, r.trigger) for r in rows} == {
        (RunPhase.SKIPPED, "suspended", "schedule")
    }
    assert rows[0].slot == slots[0]
