"""The scheduler's per-object decisions: due slots, next run, completion, one tick's plan.

These functions are the whole "when" of the operator. They take the spec, the compiled
schedule, what status says happened so far, and ``now``; they return values. The anchor
rule protects the semantics users were burnt by elsewhere (Kubernetes #63371, Argo #12625):
slots at or before the anchor (creation, last edit, last scheduled slot) never run, so
editing or resuming never launches past slots and a restart never runs a slot twice.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Final

from almanac.core.catchup import plan_catch_up
from almanac.core.decisions import Launch, Skip, SkipReason, Wait
from almanac.core.durations import parse_duration
from almanac.core.jitter import launch_time
from almanac.core.models import ScheduledJobSpec
from almanac.core.schedule import CompiledSchedule, compile_schedule
from almanac.core.status import TriggerKind
from almanac.core.zones import require_aware

__all__ = [
    "ON_TIME_GRACE",
    "SKIPPED_ROWS_PER_PASS",
    "TickPlan",
    "compile_spec",
    "is_complete",
    "next_run_time",
    "plan_tick",
    "schedule_anchor",
    "schedule_digest",
    "slots_due",
]

#: A slot this close to ``now`` counts as on time (trigger ``schedule``); older unlaunched
#: slots are missed and go through catch-up.
ON_TIME_GRACE: Final = timedelta(seconds=60)
_MICRO: Final = timedelta(microseconds=1)
#: Skipped slots a pass names (the newest), so the history can keep a row for each; the
#: others are only counted. Bounds the rows a long outage or a suspended per-second
#: schedule can write in one pass (the operator bounds them per hour as well).
SKIPPED_ROWS_PER_PASS: Final = 10


def compile_spec(spec: ScheduledJobSpec) -> CompiledSchedule | None:
    """Compile ``spec.schedule``; ``None`` for trigger-only ScheduledJobs."""
    return compile_schedule(spec.schedule) if spec.schedule is not None else None


def schedule_digest(spec: ScheduledJobSpec) -> str:
    """Digest of what decides the slots: an edit to it re-anchors the schedule."""
    schedule = spec.schedule.model_dump(mode="json", by_alias=True) if spec.schedule else None
    return hashlib.sha256(json.dumps(schedule, sort_keys=True).encode()).hexdigest()[:16]


def schedule_anchor(
    *,
    created_at: datetime,
    last_schedule_time: datetime | None = None,
    edited_at: datetime | None = None,
) -> datetime:
    """Exclusive lower bound of the slots that may still run.

    The latest of creation, last schedule edit (the instant the operator first saw the new
    generation) and ``status.lastScheduleTime``: a new or edited schedule never yields a
    slot before that instant.
    """
    candidates = [require_aware(created_at, "metadata.creationTimestamp")]
    if last_schedule_time is not None:
        candidates.append(require_aware(last_schedule_time, "status.lastScheduleTime"))
    if edited_at is not None:
        candidates.append(require_aware(edited_at, "edited_at"))
    return max(candidates)


def slots_due(
    schedule: CompiledSchedule, after: datetime, until: datetime, limit: int = 1000
) -> list[datetime]:
    """Slots in ``(after, until]``, oldest first, at most ``limit`` of them."""
    return schedule.slots_between(after, until, limit)


def next_run_time(
    spec: ScheduledJobSpec,
    schedule: CompiledSchedule | None,
    now: datetime,
    *,
    runs_so_far: int = 0,
    anchor: datetime | None = None,
) -> datetime | None:
    """Next slot strictly after ``now`` (and after ``anchor``), for ``status.nextRunTime``.

    ``None`` when suspended, trigger-only, out of ``maxRuns`` or past the last slot.
    """
    if spec.suspend or schedule is None:
        return None
    if schedule.max_runs is not None and runs_so_far >= schedule.max_runs:
        return None
    after = require_aware(now, "now")
    if anchor is not None:
        after = max(after, require_aware(anchor, "anchor"))
    return schedule.next_after(after)


def is_complete(
    spec: ScheduledJobSpec,
    schedule: CompiledSchedule | None,
    *,
    anchor: datetime,
    runs_so_far: int,
    active: int = 0,
) -> bool:
    """Whether a bounded ScheduledJob will run no more (condition ``Complete``).

    True once nothing is active and either ``maxRuns`` runs happened or no slot remains
    after ``anchor`` (``at`` passed and handled, ``endTime`` passed). Jobs with triggers
    are never complete: events may still come.
    """
    if spec.triggers or schedule is None or active > 0:
        return False
    if schedule.max_runs is not None and runs_so_far >= schedule.max_runs:
        return True
    return schedule.next_after(anchor) is None


@dataclass(frozen=True)
class TickPlan:
    """What one scheduler pass over one ScheduledJob should do.

    Attributes
    ----------
    launches
        Runs to create now, oldest first (catch-up, then the on-time slot).
    skipped, skipped_exact
        Slots skipped by this pass (suspend, catch-up window/limit, maxRuns).
    beyond_max_runs
        How many of ``skipped`` were due but beyond ``maxRuns``.
    last_schedule_time
        New ``status.lastScheduleTime`` (``None``: unchanged).
    wait
        When to look at this object again (``None``: never, it is complete or idle).
    complete
        No time-based run will follow.
    skips
        The newest skipped slots (at most :data:`SKIPPED_ROWS_PER_PASS`, oldest first),
        each with its reason: the rows the history keeps for them.
    """

    launches: tuple[Launch, ...] = ()
    skipped: int = 0
    skipped_exact: bool = True
    last_schedule_time: datetime | None = None
    wait: Wait | None = None
    complete: bool = False
    beyond_max_runs: int = 0
    skips: tuple[Skip, ...] = ()


def plan_tick(
    spec: ScheduledJobSpec,
    schedule: CompiledSchedule | None,
    *,
    uid: str,
    now: datetime,
    anchor: datetime,
    runs_so_far: int = 0,
    grace: timedelta = ON_TIME_GRACE,
) -> TickPlan:
    """Plan one pass: which slots in ``(anchor, now]`` launch, which are skipped, when next.

    Steps: (1) nothing to do for trigger-only jobs; (2) stop at ``maxRuns``; (3) find the
    newest due slot; (4) while suspended, skip every due slot; (5) slots older than
    ``grace`` are missed: catch-up picks the newest ``catchUp.maxRuns`` in the window;
    (6) the on-time slot launches once its jitter has passed; (7) cap by ``maxRuns``;
    (8) wake up at the next slot's launch time.
    """
    now, anchor = require_aware(now, "now"), require_aware(anchor, "anchor")
    if schedule is None:
        return TickPlan()
    remaining = None if schedule.max_runs is None else schedule.max_runs - runs_so_far
    if remaining is not None and remaining <= 0:
        return TickPlan(complete=not spec.triggers)
    newest = schedule.newest_between(anchor, now, 1)
    if not newest:
        return _finish(
            spec, schedule=schedule, uid=uid, now=now, done_until=anchor, remaining=remaining
        )
    latest = newest[-1]
    if spec.suspend:
        total = schedule.count_between(anchor, now)
        named = schedule.newest_between(anchor, now, SKIPPED_ROWS_PER_PASS)
        finished = _finish(
            spec,
            schedule=schedule,
            uid=uid,
            now=now,
            done_until=latest,
            skipped=total.count,
            exact=total.exact,
            last=latest,
        )
        suspended = tuple(Skip(slot, SkipReason.SUSPENDED) for slot in named)
        return dataclasses.replace(finished, skips=suspended)
    # On time: its (jittered) launch instant is at most ``grace`` ago, or still ahead.
    on_time = latest if now - launch_time(uid, latest, schedule.jitter) <= grace else None
    catch_up = plan_catch_up(
        schedule,
        after=anchor,
        now=on_time - _MICRO if on_time is not None else now,
        window=parse_duration(spec.catch_up.window, "spec.catchUp.window"),
        max_runs=spec.catch_up.max_runs,
        keep=SKIPPED_ROWS_PER_PASS,
    )
    launches = [Launch(slot, TriggerKind.CATCHUP, not_before=slot) for slot in catch_up.run]
    last = catch_up.newest
    pending: datetime | None = None
    if on_time is not None:
        start_at = launch_time(uid, on_time, schedule.jitter)
        if start_at <= now:
            launches.append(Launch(on_time, TriggerKind.SCHEDULE, not_before=start_at))
            last = on_time
        else:
            pending = start_at
    dropped = 0
    skips = [Skip(slot, SkipReason.MISSED) for slot in catch_up.missed]
    if remaining is not None and len(launches) > remaining:
        dropped = len(launches) - remaining
        skips += [Skip(x.slot, SkipReason.MAX_RUNS_REACHED) for x in launches[:dropped]]
        launches = launches[dropped:]
    kept = tuple(sorted(skips, key=_slot_of)[-SKIPPED_ROWS_PER_PASS:])
    skipped = catch_up.skipped + dropped
    if pending is not None:
        return TickPlan(
            tuple(launches),
            skipped,
            catch_up.exact,
            last,
            Wait(pending),
            beyond_max_runs=dropped,
            skips=kept,
        )
    left = None if remaining is None else remaining - len(launches)
    finished = _finish(
        spec,
        schedule=schedule,
        uid=uid,
        now=now,
        done_until=last or anchor,
        launches=tuple(launches),
        skipped=skipped,
        exact=catch_up.exact,
        last=last,
        remaining=left,
    )
    return dataclasses.replace(finished, beyond_max_runs=dropped, skips=kept)


def _slot_of(skip: Skip) -> datetime:
    assert skip.slot is not None  # the schedule's skips always name their slot
    return skip.slot


def _finish(
    spec: ScheduledJobSpec,
    *,
    schedule: CompiledSchedule,
    uid: str,
    now: datetime,
    done_until: datetime,
    launches: tuple[Launch, ...] = (),
    skipped: int = 0,
    exact: bool = True,
    last: datetime | None = None,
    remaining: int | None = None,
) -> TickPlan:
    """Attach the next wake-up (or completion) to a plan."""
    if remaining is not None and remaining <= 0:
        return TickPlan(launches, skipped, exact, last, None, not spec.triggers)
    upcoming = schedule.next_after(max(now, done_until))
    if upcoming is None:
        return TickPlan(launches, skipped, exact, last, None, not spec.triggers)
    wake = upcoming if spec.suspend else launch_time(uid, upcoming, schedule.jitter)
    return TickPlan(launches, skipped, exact, last, Wait(wake))
