"""Per-tick decisions: anchors (create/edit/resume), next run, jitter, suspend, completion."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from almanac.core import (
    Launch,
    ScheduledJobSpec,
    TriggerKind,
    Wait,
    compile_spec,
    is_complete,
    jitter_offset,
    next_run_time,
    parse_spec,
    plan_tick,
    schedule_anchor,
    slots_due,
)
from almanac.core.decisions import Skip, SkipReason
from almanac.core.plan import SKIPPED_ROWS_PER_PASS
from tests.unit.core.anchors import TOP_OF_HOUR

UID = "6f1c2b9e-0000-4000-8000-000000000001"
MINUTE = timedelta(minutes=1)


def spec(**fields: Any) -> ScheduledJobSpec:
    return parse_spec({"template": "http", **fields})


def test_schedule_anchor_is_latest_of_creation_edit_and_last_slot() -> None:
    created = TOP_OF_HOUR - timedelta(days=2)
    assert schedule_anchor(created_at=created) == created
    assert (
        schedule_anchor(
            created_at=created,
            last_schedule_time=TOP_OF_HOUR - timedelta(days=1),
            edited_at=TOP_OF_HOUR,
        )
        == TOP_OF_HOUR
    )


def test_new_scheduled_job_never_runs_slots_before_creation() -> None:
    job = spec(schedule={"cron": "*/5 * * * *"})
    created = TOP_OF_HOUR + timedelta(minutes=7)
    plan = plan_tick(
        job,
        compile_spec(job),
        uid=UID,
        now=created + MINUTE,
        anchor=schedule_anchor(created_at=created),
    )
    assert plan.launches == ()
    assert plan.skipped == 0
    assert plan.wait == Wait(TOP_OF_HOUR + timedelta(minutes=10))


def test_edit_runs_new_schedules_first_slot_after_edit_only() -> None:
    edited = TOP_OF_HOUR + timedelta(minutes=7)
    job = spec(schedule={"cron": "0 * * * *"})
    anchor = schedule_anchor(
        created_at=TOP_OF_HOUR - timedelta(days=3),
        last_schedule_time=TOP_OF_HOUR - timedelta(days=1),
        edited_at=edited,
    )
    plan = plan_tick(job, compile_spec(job), uid=UID, now=edited, anchor=anchor)
    assert plan.launches == ()
    assert plan.wait == Wait(TOP_OF_HOUR + timedelta(hours=1))


def test_on_time_slot_launches_with_schedule_trigger() -> None:
    job = spec(schedule={"cron": "0 * * * *"})
    plan = plan_tick(
        job,
        compile_spec(job),
        uid=UID,
        now=TOP_OF_HOUR + timedelta(seconds=2),
        anchor=TOP_OF_HOUR - timedelta(hours=1),
    )
    assert plan.launches == (Launch(TOP_OF_HOUR, TriggerKind.SCHEDULE, not_before=TOP_OF_HOUR),)
    assert plan.last_schedule_time == TOP_OF_HOUR
    assert plan.wait == Wait(TOP_OF_HOUR + timedelta(hours=1))


def test_missed_slots_after_downtime_go_through_catch_up() -> None:
    job = spec(schedule={"cron": "*/10 * * * *"}, catchUp={"window": "1h", "maxRuns": 2})
    now = TOP_OF_HOUR + timedelta(minutes=5)
    plan = plan_tick(job, compile_spec(job), uid=UID, now=now, anchor=now - timedelta(hours=2))
    assert [(launch.slot, launch.trigger) for launch in plan.launches] == [
        (TOP_OF_HOUR - timedelta(minutes=10), TriggerKind.CATCHUP),
        (TOP_OF_HOUR, TriggerKind.CATCHUP),
    ]
    assert plan.skipped == 10
    assert plan.last_schedule_time == TOP_OF_HOUR


def test_suspended_slots_are_skipped_and_counted_not_run() -> None:
    job = spec(schedule={"cron": "*/10 * * * *"}, suspend=True)
    plan = plan_tick(
        job, compile_spec(job), uid=UID, now=TOP_OF_HOUR, anchor=TOP_OF_HOUR - timedelta(hours=1)
    )
    assert plan.launches == ()
    assert plan.skipped == 6
    assert plan.last_schedule_time == TOP_OF_HOUR
    assert next_run_time(job, compile_spec(job), TOP_OF_HOUR) is None


def test_resume_does_not_rerun_current_slot() -> None:
    job = spec(schedule={"cron": "*/10 * * * *"})
    plan = plan_tick(job, compile_spec(job), uid=UID, now=TOP_OF_HOUR + MINUTE, anchor=TOP_OF_HOUR)
    assert plan.launches == ()


def test_jitter_delays_on_time_launch_deterministically() -> None:
    job = spec(schedule={"cron": "0 * * * *", "jitter": "30s"})
    offset = jitter_offset(UID, TOP_OF_HOUR, timedelta(seconds=30))
    early = plan_tick(
        job, compile_spec(job), uid=UID, now=TOP_OF_HOUR, anchor=TOP_OF_HOUR - timedelta(hours=1)
    )
    late = plan_tick(
        job,
        compile_spec(job),
        uid=UID,
        now=TOP_OF_HOUR + offset,
        anchor=TOP_OF_HOUR - timedelta(hours=1),
    )
    if offset:
        assert early.launches == ()
        assert early.wait == Wait(TOP_OF_HOUR + offset)
    assert late.launches == (
        Launch(TOP_OF_HOUR, TriggerKind.SCHEDULE, not_before=TOP_OF_HOUR + offset),
    )


def test_max_runs_caps_launches_and_completes() -> None:
    job = spec(schedule={"cron": "0 * * * *", "maxRuns": 2})
    compiled = compile_spec(job)
    plan = plan_tick(
        job, compiled, uid=UID, now=TOP_OF_HOUR, anchor=TOP_OF_HOUR - MINUTE, runs_so_far=1
    )
    assert len(plan.launches) == 1
    assert plan.complete
    assert plan.wait is None
    assert next_run_time(job, compiled, TOP_OF_HOUR, runs_so_far=2) is None
    assert is_complete(job, compiled, anchor=TOP_OF_HOUR, runs_so_far=2)
    assert not is_complete(job, compiled, anchor=TOP_OF_HOUR, runs_so_far=2, active=1)


@pytest.mark.parametrize(
    ("schedule", "anchor_offset", "complete"),
    [
        pytest.param({"at": TOP_OF_HOUR.isoformat()}, timedelta(0), True, id="at-handled"),
        pytest.param({"at": TOP_OF_HOUR.isoformat()}, -MINUTE, False, id="at-pending"),
        pytest.param(
            {"cron": "* * * * *", "endTime": TOP_OF_HOUR.isoformat()},
            timedelta(0),
            True,
            id="end-time-passed",
        ),
        pytest.param({"cron": "* * * * *"}, timedelta(days=3650), False, id="unbounded"),
    ],
)
def test_is_complete_for_bounded_jobs(
    schedule: dict[str, Any], anchor_offset: timedelta, complete: bool
) -> None:
    job = spec(schedule=schedule)
    assert (
        is_complete(job, compile_spec(job), anchor=TOP_OF_HOUR + anchor_offset, runs_so_far=0)
        is complete
    )


def test_jobs_with_triggers_never_complete() -> None:
    job = spec(schedule={"at": TOP_OF_HOUR.isoformat()}, triggers=[{"kafka": {"topic": "t"}}])
    assert not is_complete(job, compile_spec(job), anchor=TOP_OF_HOUR, runs_so_far=1)


def test_trigger_only_jobs_have_no_slots() -> None:
    job = spec(triggers=[{"after": {"scheduledJob": "upstream"}}])
    assert compile_spec(job) is None
    assert plan_tick(job, None, uid=UID, now=TOP_OF_HOUR, anchor=TOP_OF_HOUR).launches == ()
    assert next_run_time(job, None, TOP_OF_HOUR) is None


def test_next_run_time_is_after_now_and_anchor() -> None:
    job = spec(schedule={"cron": "0 * * * *"})
    compiled = compile_spec(job)
    assert next_run_time(job, compiled, TOP_OF_HOUR) == TOP_OF_HOUR + timedelta(hours=1)
    assert next_run_time(
        job, compiled, TOP_OF_HOUR, anchor=TOP_OF_HOUR + timedelta(hours=1)
    ) == TOP_OF_HOUR + timedelta(hours=2)


def test_slots_due_is_half_open() -> None:
    job = spec(schedule={"cron": "0 * * * *"})
    compiled = compile_spec(job)
    assert compiled is not None
    assert slots_due(compiled, TOP_OF_HOUR, TOP_OF_HOUR + timedelta(hours=2)) == [
        TOP_OF_HOUR + timedelta(hours=1),
        TOP_OF_HOUR + timedelta(hours=2),
    ]


def test_missed_slots_not_run_are_named_newest_ten_with_their_reason() -> None:
    job = spec(schedule={"cron": "*/10 * * * *"}, catchUp={"window": "1h", "maxRuns": 2})
    now = TOP_OF_HOUR + timedelta(minutes=5)
    plan = plan_tick(job, compile_spec(job), uid=UID, now=now, anchor=now - timedelta(hours=2))

    assert plan.skipped == 10
    assert [(s.slot, s.reason) for s in plan.skips] == [
        (TOP_OF_HOUR - timedelta(minutes=10 * i), SkipReason.MISSED) for i in range(11, 1, -1)
    ]


def test_suspended_slots_named_are_the_newest_bounded_per_pass() -> None:
    job = spec(schedule={"every": "1s"}, suspend=True)
    plan = plan_tick(
        job, compile_spec(job), uid=UID, now=TOP_OF_HOUR, anchor=TOP_OF_HOUR - timedelta(hours=1)
    )

    assert plan.skipped == 3600
    assert len(plan.skips) == SKIPPED_ROWS_PER_PASS
    assert plan.skips[-1] == Skip(TOP_OF_HOUR, SkipReason.SUSPENDED)
    slots = [s.slot for s in plan.skips if s.slot is not None]
    assert slots == sorted(slots)
