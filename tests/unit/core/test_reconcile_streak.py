"""``spec.pauseAfterFailures`` as a table of named passes: which finished runs count towards
the failure streak, when a pass suspends the job, and what clears the streak (a success, a
resume). The count is read back from the status a previous pass wrote, as after a
restart."""

from __future__ import annotations

from typing import Any

import pytest

from almanac.core.reconcile import reconcile
from almanac.core.status import StreakMark
from almanac.core.streak import pause_reason
from tests.support.reconcile import Case, at, check, iso, job, snapshot, spec_of

PAUSE_AFTER_TWO = spec_of(pauseAfterFailures=2)
RETRY_TWICE = {"maxAttempts": 2, "backoff": {"initial": "10s"}}
SUSPENDED_BY_STREAK = [
    {
        "type": "Suspended",
        "status": "True",
        "reason": "Suspended",
        "lastTransitionTime": iso("12:00"),
    }
]


def counted(count: int, job_name: str | None = None, finished: str = "12:00") -> dict[str, Any]:
    """A status a previous pass wrote: ``count`` failures, counted up to ``job_name``."""
    mark = {"job": job_name, "finished": iso(finished)} if job_name else None
    return {"consecutiveFailures": count, "failuresCountedTo": mark}


FAILED_1158 = job("11:58", "Failed", finished="11:58:10")
FAILED_1159 = job("11:59", "Failed", finished="11:59:10")

CASES = [
    Case(
        "a second failure in a row with pauseAfterFailures 2 suspends the job",
        snapshot(
            PAUSE_AFTER_TWO,
            last_slot="11:59",
            status=counted(1, FAILED_1158.name, "11:58:10"),
            jobs=[FAILED_1158, FAILED_1159],
        ),
        now=at("11:59:30"),
        want=["suspend after schedule 11:59 #1"],
        status={
            "consecutiveFailures": 2,
            "failuresCountedTo.job": FAILED_1159.name,
            "condition Suspended": ("False", "Running"),
        },
    ),
    Case(
        "the pass that pauses does not start the slot due with it (skipped: suspended)",
        snapshot(
            PAUSE_AFTER_TWO,
            last_slot="11:59",
            status=counted(1, FAILED_1158.name, "11:58:10"),
            jobs=[FAILED_1158, job("11:59", "Failed", finished="11:59:50")],
        ),
        now=at("12:00:01"),
        want=[
            "suspend after schedule 11:59 #1",
            "metric skipped suspended",
            "event Skipped",
        ],
        status={"counts.skipped": 1, "condition Suspended": ("False", "Running")},
    ),
    Case(
        "two failures seen at once (no status yet, as after an upgrade) count both",
        snapshot(PAUSE_AFTER_TWO, last_slot="11:59", jobs=[FAILED_1158, FAILED_1159]),
        now=at("11:59:30"),
        want=["suspend after schedule 11:59 #1"],
        status={"consecutiveFailures": 2},
    ),
    Case(
        "a run already counted is not counted again by a later pass",
        snapshot(
            PAUSE_AFTER_TWO,
            last_slot="11:59",
            status=counted(1, FAILED_1159.name, "11:59:10"),
            jobs=[FAILED_1158, FAILED_1159],
        ),
        now=at("11:59:40"),
        want=[],
        status={"consecutiveFailures": 1},
    ),
    Case(
        "a failed attempt that will be retried is not yet a failure of the job",
        snapshot(
            spec_of(pauseAfterFailures=1, retry=RETRY_TWICE),
            last_slot="11:59",
            jobs=[FAILED_1159],
        ),
        now=at("11:59:15"),
        want=[],
        status={"consecutiveFailures": 0, "failuresCountedTo.job": FAILED_1159.name},
        wake=at("11:59:20"),
    ),
    Case(
        "the last attempt failing is a failure of the job",
        snapshot(
            spec_of(pauseAfterFailures=1, retry=RETRY_TWICE),
            last_slot="11:59",
            status=counted(0, FAILED_1159.name, "11:59:10"),
            jobs=[FAILED_1159, job("11:59", "Failed", attempt=2, finished="11:59:25")],
        ),
        now=at("11:59:30"),
        want=["suspend after schedule 11:59 #2"],
        status={"consecutiveFailures": 1},
    ),
    Case(
        "a success ends the streak",
        snapshot(
            PAUSE_AFTER_TWO,
            last_slot="11:59",
            status=counted(1, FAILED_1158.name, "11:58:10"),
            jobs=[FAILED_1158, job("11:59", "Succeeded", finished="11:59:10")],
        ),
        now=at("11:59:30"),
        want=[],
        status={"consecutiveFailures": 0},
    ),
    Case(
        "a cancelled run neither adds to nor ends the streak",
        snapshot(
            PAUSE_AFTER_TWO,
            last_slot="11:59",
            status=counted(1, FAILED_1158.name, "11:58:10"),
            jobs=[FAILED_1158, job("11:59", "Cancelled", finished="11:59:10")],
        ),
        now=at("11:59:30"),
        want=[],
        status={"consecutiveFailures": 1},
    ),
    Case(
        "without pauseAfterFailures the streak is counted but nothing is suspended",
        snapshot(last_slot="11:59", jobs=[FAILED_1158, FAILED_1159]),
        now=at("11:59:30"),
        want=[],
        status={"consecutiveFailures": 2},
    ),
    Case(
        "a job suspended already is not suspended again",
        snapshot(
            spec_of(pauseAfterFailures=2, suspend=True),
            last_slot="11:59",
            status=counted(2, FAILED_1159.name, "11:59:10") | {"conditions": SUSPENDED_BY_STREAK},
            annotations={"almanac.dev/suspend-reason": pause_reason(2)},
            jobs=[FAILED_1158, FAILED_1159],
        ),
        now=at("12:00:30"),
        want=["metric skipped suspended", "event Skipped"],
        status={
            "consecutiveFailures": 2,
            "condition Suspended": ("True", "Suspended"),
            "message Ready": pause_reason(2),
        },
    ),
    Case(
        "resuming clears the streak (the last pass saw the job suspended)",
        snapshot(
            PAUSE_AFTER_TWO,
            last_slot="12:00",
            status=counted(2, FAILED_1159.name, "11:59:10") | {"conditions": SUSPENDED_BY_STREAK},
            jobs=[FAILED_1158, FAILED_1159],
        ),
        now=at("12:00:30"),
        want=[],
        status={"consecutiveFailures": 0, "condition Suspended": ("False", "Running")},
    ),
    Case(
        "a suspension whose write was lost is asked for again, not read as a resume",
        snapshot(
            PAUSE_AFTER_TWO,
            last_slot="11:59",
            status=counted(2, FAILED_1159.name, "11:59:10"),
            jobs=[FAILED_1158, FAILED_1159],
        ),
        now=at("11:59:40"),
        want=["suspend after schedule 11:59 #1"],
        status={"consecutiveFailures": 2},
    ),
    Case(
        "the streak outlives the Jobs history limits delete",
        snapshot(
            spec_of(pauseAfterFailures=3, history={"failedJobs": 1}),
            last_slot="11:59",
            status=counted(2, FAILED_1158.name, "11:58:10"),
            jobs=[FAILED_1159],
        ),
        now=at("11:59:30"),
        want=["suspend after schedule 11:59 #1"],
        status={"consecutiveFailures": 3},
    ),
]


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_failure_streak_pass(case: Case) -> None:
    check(case)


def test_a_pass_over_an_invalid_spec_keeps_the_streak() -> None:
    given = snapshot(
        spec_of(schedule={"cron": "not a cron"}), status=counted(2, FAILED_1159.name, "11:59:10")
    )
    status = reconcile(given, at("12:00")).status
    assert status["consecutiveFailures"] == 2
    assert StreakMark.model_validate(status["failuresCountedTo"]).job == FAILED_1159.name
