"""The reconcile pass as a table of named situations (cf. upstream's
``TestControllerV2SyncCronJob``): each case is a ScheduledJob's snapshot and an instant,
and the actions, status fields and wake-up one pass must produce. The integration suite
keeps only what a real cluster can show. This table holds the schedule and what decides
its slots; ``test_reconcile_triggers.py`` holds the runs asked for (run-now, retries,
RunRequests), history limits and the template's verdict."""

from __future__ import annotations

from datetime import timedelta

import pytest

from almanac.core.reconcile import reconcile
from tests.support.reconcile import Case, at, check, iso, job, snapshot, spec_of

ALLOW = spec_of(overlapPolicy="Allow")
REPLACE = spec_of(overlapPolicy="Replace")
BUFFER_ONE = spec_of(overlapPolicy="BufferOne")
SUSPENDED = spec_of(suspend=True)
FIVE_MINUTES = spec_of(schedule={"cron": "*/5 * * * *"})
AT_NOON = spec_of(schedule={"at": iso("12:00")})
EVERY_TEN_MINUTES = {"every": "10m"}
#: Three runs in all, every minute.
THREE_RUNS = {"cron": "* * * * *", "maxRuns": 3}
SUSPEND_REASON = {"almanac.dev/suspend-reason": "quarter-end freeze"}

CASES = [
    # -- the schedule ------------------------------------------------------------------
    Case(
        "a due slot launches its run and wakes at the next slot",
        snapshot(last_slot="11:59"),
        now=at("12:00:01"),
        want=["create schedule 12:00 #1 (Launched)"],
        status={"counts.launched": 1, "lastScheduleTime": iso("12:00")},
        wake=at("12:01"),
    ),
    Case(
        "nothing is due between slots: no action, a wake-up at the next slot",
        snapshot(last_slot="12:00"),
        now=at("12:00:30"),
        want=[],
        status={"condition Ready": ("True", "Scheduled"), "nextRunTime": iso("12:01")},
        wake=at("12:01"),
    ),
    Case(
        "a new ScheduledJob never runs the slot of its creation: its first run is the next",
        snapshot(),
        now=at("11:00:30"),
        want=[],
        status={"lastScheduleTime": None, "nextRunTime": iso("11:01")},
        wake=at("11:01"),
    ),
    Case(
        "a slot seen less than a minute late still runs on time (trigger schedule)",
        snapshot(last_slot="11:59"),
        now=at("12:00:59"),
        want=["create schedule 12:00 #1 (Launched)"],
    ),
    Case(
        "jitter: a slot waits for its jittered instant, fixed per job and slot",
        snapshot(spec_of(schedule={"cron": "* * * * *", "jitter": "30s"}), last_slot="11:59"),
        now=at("12:00"),
        want=[],
        status={"lastScheduleTime": iso("11:59")},
        wake=at("12:00:21") + timedelta(milliseconds=777),
    ),
    # -- overlap policies ----------------------------------------------------------------
    Case(
        "Allow: a due slot launches beside the active run",
        snapshot(ALLOW, last_slot="11:59", launched=1, jobs=[job("11:59")]),
        now=at("12:00:01"),
        want=["create schedule 12:00 #1 (Launched)"],
        status={"counts.launched": 2, "counts.skipped": 0},
    ),
    Case(
        "Forbid: a due slot while a run is active is skipped and counted",
        snapshot(spec_of(overlapPolicy="Forbid"), last_slot="11:59", jobs=[job("11:59")]),
        now=at("12:00:01"),
        want=["metric skipped overlap_forbidden", "event Skipped"],
        status={"counts.skipped": 1, "activeCount": 1},
    ),
    Case(
        "Forbid is the default, and any active run forbids the slot, a manual one too",
        snapshot(last_slot="11:59", jobs=[job("11:59:30", trigger="manual")]),
        now=at("12:00:01"),
        want=["metric skipped overlap_forbidden", "event Skipped"],
        status={"counts.skipped": 1, "lastScheduleTime": iso("12:00")},
        wake=at("12:01"),
    ),
    Case(
        "Replace: the active run is deleted (recorded cancelled) and the slot launched",
        snapshot(REPLACE, last_slot="11:59", jobs=[job("11:59")]),
        now=at("12:00:01"),
        want=[
            "delete schedule 11:59 #1 (replaced)",
            "event Replaced",
            "create schedule 12:00 #1 (Launched)",
        ],
        cancelled=["schedule 11:59 #1 Cancelled at 12:00:01"],
    ),
    Case(
        "Replace: every active run goes, a manual run's too, each with its record",
        snapshot(
            REPLACE, last_slot="11:59", jobs=[job("11:58:30", trigger="manual"), job("11:59")]
        ),
        now=at("12:00:01"),
        want=[
            "delete manual 11:58:30 #1 (replaced)",
            "event Replaced",
            "delete schedule 11:59 #1 (replaced)",
            "event Replaced",
            "create schedule 12:00 #1 (Launched)",
        ],
        cancelled=[
            "manual 11:58:30 #1 Cancelled at 12:00:01",
            "schedule 11:59 #1 Cancelled at 12:00:01",
        ],
    ),
    Case(
        "BufferOne: a due slot while a run is active waits in the buffer",
        snapshot(BUFFER_ONE, last_slot="11:59", jobs=[job("11:59")]),
        now=at("12:00:01"),
        want=["event Buffered"],
        status={"counts.skipped": 0, "lastScheduleTime": iso("12:00")},
        buffered=at("12:00"),
    ),
    Case(
        "BufferOne: with the buffer full, the next slot is skipped and the older one kept",
        snapshot(BUFFER_ONE, last_slot="12:00", buffered="12:00", jobs=[job("11:59")]),
        now=at("12:01:01"),
        want=["metric skipped buffer_full", "event Skipped"],
        status={"counts.skipped": 1},
        buffered=at("12:00"),
    ),
    Case(
        "BufferOne: the buffered slot is not released while the run still runs",
        snapshot(BUFFER_ONE, last_slot="12:00", buffered="12:00", jobs=[job("11:59")]),
        now=at("12:00:30"),
        want=[],
        status={"activeCount": 1},
        buffered=at("12:00"),
        wake=at("12:01"),
    ),
    Case(
        "BufferOne: the buffered slot starts once the active run finished",
        snapshot(BUFFER_ONE, last_slot="12:00", buffered="12:00", jobs=[job("11:59", "Succeeded")]),
        now=at("12:00:21"),
        want=["create schedule 12:00 #1 (Launched)"],
        status={"counts.launched": 2, "counts.skipped": 0},
        buffered=None,
    ),
    # -- catch-up after downtime -----------------------------------------------------------
    Case(
        "catch-up: the newest missed slot runs as catchup, older ones are counted skipped",
        snapshot(ALLOW, last_slot="11:50"),
        now=at("12:00:30"),
        want=[
            "metric skipped missed x8",
            "event Skipped",
            "create catchup 11:59 #1 (Launched)",
            "create schedule 12:00 #1 (Launched)",
        ],
        status={"counts.skipped": 8, "counts.launched": 2, "lastScheduleTime": iso("12:00")},
    ),
    Case(
        "catch-up maxRuns 3: the three newest missed slots run, oldest first",
        snapshot(spec_of(overlapPolicy="Allow", catchUp={"maxRuns": 3}), last_slot="11:50"),
        now=at("12:00:30"),
        want=[
            "metric skipped missed x6",
            "event Skipped",
            "create catchup 11:57 #1 (Launched)",
            "create catchup 11:58 #1 (Launched)",
            "create catchup 11:59 #1 (Launched)",
            "create schedule 12:00 #1 (Launched)",
        ],
        status={"counts.skipped": 6, "counts.launched": 4},
    ),
    Case(
        "catch-up window 5m: missed slots older than the window are skipped, not run",
        snapshot(
            spec_of(overlapPolicy="Allow", catchUp={"window": "5m", "maxRuns": 10}),
            last_slot="11:50",
        ),
        now=at("12:00:30"),
        want=[
            "metric skipped missed x4",
            "event Skipped",
            *(f"create catchup 11:5{m} #1 (Launched)" for m in range(5, 10)),
            "create schedule 12:00 #1 (Launched)",
        ],
        status={"counts.skipped": 4, "counts.launched": 6},
    ),
    Case(
        "catch-up with no missed slot inside the window runs nothing and counts them all",
        snapshot(spec_of(schedule=EVERY_TEN_MINUTES, catchUp={"window": "2m"}), last_slot="11:20"),
        now=at("11:55"),
        want=["metric skipped missed x3", "event Skipped"],
        status={"counts.skipped": 3, "lastScheduleTime": iso("11:50")},
        wake=at("12:00"),
    ),
    Case(
        "catch-up maxRuns 0: missed slots are counted skipped, the on-time slot still runs",
        snapshot(spec_of(catchUp={"maxRuns": 0}), last_slot="11:50"),
        now=at("12:00:30"),
        want=["metric skipped missed x9", "event Skipped", "create schedule 12:00 #1 (Launched)"],
        status={"counts.skipped": 9, "counts.launched": 1},
    ),
    Case(
        "downtime past the on-time grace: the newest slot runs as catchup, none on time",
        snapshot(spec_of(schedule=EVERY_TEN_MINUTES), last_slot="11:30"),
        now=at("12:05"),
        want=["metric skipped missed x2", "event Skipped", "create catchup 12:00 #1 (Launched)"],
        status={"counts.skipped": 2, "nextRunTime": iso("12:10")},
        wake=at("12:10"),
    ),
    # -- suspend ---------------------------------------------------------------------------
    Case(
        "suspended: a due slot is skipped and counted, the condition gives the reason",
        snapshot(SUSPENDED, last_slot="11:59", annotations=SUSPEND_REASON),
        now=at("12:00:01"),
        want=["metric skipped suspended", "event Skipped"],
        status={
            "counts.skipped": 1,
            "condition Suspended": ("True", "Suspended"),
            "message Suspended": "quarter-end freeze",
            "condition Ready": ("False", "Suspended"),
            "message Ready": "quarter-end freeze",
        },
        wake=at("12:01"),
    ),
    Case(
        "suspended for many slots: all are counted in one pass, with one Event",
        snapshot(SUSPENDED, last_slot="11:50"),
        now=at("12:00:30"),
        want=["metric skipped suspended x10", "event Skipped"],
        status={"counts.skipped": 10, "message Ready": "spec.suspend is true"},
    ),
    Case(
        "suspended: LAST RUN stays the last run's start while slots are skipped",
        snapshot(SUSPENDED, last_slot="11:50", jobs=[job("11:50", "Succeeded", finished="11:51")]),
        now=at("12:00:30"),
        want=["metric skipped suspended x10", "event Skipped"],
        status={"lastStartTime": iso("11:50"), "lastScheduleTime": iso("12:00")},
    ),
    Case(
        "LAST RUN survives the pruning of the Job that started last",
        snapshot(SUSPENDED, last_slot="11:59", status={"lastStartTime": iso("11:30")}),
        now=at("12:00:01"),
        want=["metric skipped suspended", "event Skipped"],
        status={"lastStartTime": iso("11:30")},
        wake=at("12:01"),
    ),
    Case(
        "resuming runs no slot skipped while suspended: the next run is the next slot",
        snapshot(last_slot="12:05"),
        now=at("12:05:30"),
        want=[],
        status={"condition Suspended": ("False", "Running"), "nextRunTime": iso("12:06")},
        wake=at("12:06"),
    ),
    # -- schedule edits ----------------------------------------------------------------------
    Case(
        "an edited schedule re-anchors at now: none of its past slots runs",
        snapshot(FIVE_MINUTES, last_slot="11:50", status={"scheduleHash": "an-older-schedule"}),
        now=at("12:02:30"),
        want=[],
        status={"scheduleAnchor": iso("12:02:30"), "nextRunTime": iso("12:05")},
        wake=at("12:05"),
    ),
    Case(
        "after an edit, the first slot of the new schedule after its anchor runs",
        snapshot(FIVE_MINUTES, last_slot="11:50", status={"scheduleAnchor": iso("12:02:30")}),
        now=at("12:05:01"),
        want=["create schedule 12:05 #1 (Launched)"],
        status={"scheduleAnchor": iso("12:02:30")},
    ),
    Case(
        "editing the params only is no schedule edit: the due slot runs",
        snapshot(spec_of(params={"command": ["echo", "new"]}), last_slot="11:59"),
        now=at("12:00:01"),
        want=["create schedule 12:00 #1 (Launched)"],
        status={"scheduleAnchor": None},
    ),
    # -- bounded schedules -----------------------------------------------------------------
    Case(
        "maxRuns reached with nothing active: Complete (Ready False), no launch, no wake-up",
        snapshot(spec_of(schedule=THREE_RUNS), last_slot="11:59", launched=3),
        now=at("12:00:01"),
        want=[],
        status={
            "condition Ready": ("False", "Complete"),
            "condition Complete": ("True", "Complete"),
        },
        wake=None,
    ),
    Case(
        "the last run maxRuns allows launches, and no next run is announced",
        snapshot(spec_of(schedule=THREE_RUNS), last_slot="11:59", launched=2),
        now=at("12:00:01"),
        want=["create schedule 12:00 #1 (Launched)"],
        status={"counts.launched": 3, "nextRunTime": None},
    ),
    Case(
        "maxRuns caps a catch-up: the newest planned run starts, the others are skipped",
        snapshot(
            spec_of(overlapPolicy="Allow", catchUp={"maxRuns": 5}, schedule=THREE_RUNS),
            last_slot="11:55",
            launched=2,
        ),
        now=at("12:00:01"),
        want=[
            "metric skipped max_runs_reached x4",
            "event Skipped",
            "create schedule 12:00 #1 (Launched)",
        ],
        status={"counts.launched": 3, "counts.skipped": 4},
    ),
    Case(
        "an at instant ahead: nothing yet, the next run and the wake-up are that instant",
        snapshot(spec_of(schedule={"at": iso("13:00")})),
        now=at("12:00:01"),
        want=[],
        status={"nextRunTime": iso("13:00"), "condition Complete": ("False", "Scheduling")},
        wake=at("13:00"),
    ),
    Case(
        "an at instant just passed runs once",
        snapshot(AT_NOON),
        now=at("12:00:01"),
        want=["create schedule 12:00 #1 (Launched)"],
        status={"counts.launched": 1, "nextRunTime": None},
    ),
    Case(
        "an at instant before the ScheduledJob existed never runs: Complete, nothing skipped",
        snapshot(spec_of(schedule={"at": iso("10:00")})),
        now=at("12:00:01"),
        want=[],
        status={"condition Complete": ("True", "Complete"), "counts.skipped": 0},
        wake=None,
    ),
    Case(
        "an at instant already run and finished does not run again",
        snapshot(AT_NOON, last_slot="12:00", jobs=[job("12:00", "Succeeded")]),
        now=at("12:05"),
        want=[],
        status={"condition Complete": ("True", "Complete"), "counts.succeeded": 1},
        wake=None,
    ),
    # -- decisions within one pass ---------------------------------------------------------
    Case(
        "Forbid after downtime: the caught-up run counts as active, the on-time slot is skipped",
        snapshot(last_slot="11:58"),
        now=at("12:00:30"),
        want=[
            "create catchup 11:59 #1 (Launched)",
            "metric skipped overlap_forbidden",
            "event Skipped",
        ],
        status={"counts.launched": 1, "counts.skipped": 1},
    ),
    Case(
        "Replace across two catch-up slots: each replaces the one before, the on-time run stays",
        snapshot(spec_of(overlapPolicy="Replace", catchUp={"maxRuns": 2}), last_slot="11:57"),
        now=at("12:00:30"),
        want=[
            "create catchup 11:58 #1 (Launched)",
            "delete catchup 11:58 #1 (replaced)",
            "event Replaced",
            "create catchup 11:59 #1 (Launched)",
            "delete catchup 11:59 #1 (replaced)",
            "event Replaced",
            "create schedule 12:00 #1 (Launched)",
        ],
        status={"counts.launched": 3, "counts.skipped": 0},
    ),
    Case(
        "BufferOne across catch-up: the first runs, the next waits, the rest are skipped",
        snapshot(spec_of(overlapPolicy="BufferOne", catchUp={"maxRuns": 3}), last_slot="11:56"),
        now=at("12:00:30"),
        want=[
            "create catchup 11:57 #1 (Launched)",
            "event Buffered",
            "metric skipped buffer_full",
            "event Skipped",
            "metric skipped buffer_full",
            "event Skipped",
        ],
        status={"counts.launched": 1, "counts.skipped": 2},
        buffered=at("11:58"),
    ),
    # -- skipped slots become history rows (bounded) -----------------------------------------
    Case(
        "a slot skipped under Forbid is named for the history with its reason",
        snapshot(spec_of(overlapPolicy="Forbid"), last_slot="11:59", jobs=[job("11:59")]),
        now=at("12:00:01"),
        want=["metric skipped overlap_forbidden", "event Skipped"],
        skipped_rows=["12:00 overlap_forbidden"],
    ),
    Case(
        "suspended for many slots: the newest ten are named for the history, all counted",
        snapshot(SUSPENDED, last_slot="11:45"),
        now=at("12:00:30"),
        want=["metric skipped suspended x15", "event Skipped"],
        status={"counts.skipped": 15},
        skipped_rows=[
            f"{slot} suspended"
            for slot in (
                "11:51",
                "11:52",
                "11:53",
                "11:54",
                "11:55",
                "11:56",
                "11:57",
                "11:58",
                "11:59",
                "12:00",
            )
        ],
    ),
    Case(
        "catch-up: the missed slots not run are named, the ones that run are not",
        snapshot(spec_of(overlapPolicy="Allow", catchUp={"maxRuns": 3}), last_slot="11:50"),
        now=at("12:00:30"),
        want=[
            "metric skipped missed x6",
            "event Skipped",
            "create catchup 11:57 #1 (Launched)",
            "create catchup 11:58 #1 (Launched)",
            "create catchup 11:59 #1 (Launched)",
            "create schedule 12:00 #1 (Launched)",
        ],
        skipped_rows=[f"11:5{m} missed" for m in range(1, 7)],
    ),
    Case(
        "maxRuns caps a catch-up: the planned runs it drops are named max_runs_reached",
        snapshot(
            spec_of(overlapPolicy="Allow", catchUp={"maxRuns": 5}, schedule=THREE_RUNS),
            last_slot="11:55",
            launched=2,
        ),
        now=at("12:00:01"),
        want=[
            "metric skipped max_runs_reached x4",
            "event Skipped",
            "create schedule 12:00 #1 (Launched)",
        ],
        skipped_rows=[f"11:5{m} max_runs_reached" for m in range(6, 10)],
    ),
]


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_reconcile(case: Case) -> None:
    check(case)


def test_case_names_are_unique() -> None:
    assert len({c.name for c in CASES}) == len(CASES)


def test_a_pass_is_pure() -> None:
    given = snapshot(last_slot="11:59")
    first = reconcile(given, at("12:00:01"))
    assert reconcile(given, at("12:00:01")) == first
    assert reconcile(given, at("12:00:01") + timedelta(0)) == first
