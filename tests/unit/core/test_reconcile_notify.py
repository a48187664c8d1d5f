"""``spec.notifications`` as a table of named passes: which finished runs a pass tells
about (Failed, Succeeded, DeadLettered, Recovered), the pause's own notice, and the runs
it does not tell about (a failed attempt with a retry to come, a run counted before, an
outcome nobody subscribed to). The decision rides on the failure streak's mark, as after a
restart."""

from __future__ import annotations

from typing import Any

import pytest

from almanac.core.reconcile import reconcile
from almanac.core.status import StreakMark
from tests.support.reconcile import Case, at, check, iso, job, snapshot, spec_of


def notify(*on: str, target: dict[str, Any] | None = None) -> dict[str, Any]:
    """One ``spec.notifications`` entry hearing ``on``."""
    return {"on": list(on), **(target or {"email": {"to": ["ops@example.com"]}})}


def counted(
    count: int, job_name: str, finished: str, *, failing: bool | None = None
) -> dict[str, Any]:
    """A status a previous pass wrote: ``count`` failures, counted up to ``job_name``."""
    mark: dict[str, Any] = {"job": job_name, "finished": iso(finished)}
    if failing is not None:
        mark["failing"] = failing
    return {"consecutiveFailures": count, "failuresCountedTo": mark}


ALL = notify("Failed", "Succeeded", "DeadLettered", "Recovered")
FAILED_1158 = job("11:58", "Failed", finished="11:58:10")
FAILED_1159 = job("11:59", "Failed", finished="11:59:10")
OK_1159 = job("11:59", "Succeeded", finished="11:59:10")
OK_1158 = job("11:58", "Succeeded", finished="11:58:10")
RETRY_TWICE = {"maxAttempts": 2, "backoff": {"initial": "10s"}}
SUSPENDED = [
    {
        "type": "Suspended",
        "status": "True",
        "reason": "Suspended",
        "lastTransitionTime": iso("12:00"),
    }
]

CASES = [
    Case(
        "a run failed for good is told as Failed",
        snapshot(
            spec_of(notifications=[ALL]),
            last_slot="11:59",
            status=counted(0, OK_1158.name, "11:58:10"),
            jobs=[OK_1158, FAILED_1159],
        ),
        now=at("11:59:30"),
        want=["notify Failed schedule 11:59 #1"],
        status={"failuresCountedTo.failing": True},
    ),
    Case(
        "a success after a failure is Recovered, then Succeeded",
        snapshot(
            spec_of(notifications=[ALL]),
            last_slot="11:59",
            status=counted(1, FAILED_1158.name, "11:58:10"),
            jobs=[FAILED_1158, OK_1159],
        ),
        now=at("11:59:30"),
        want=["notify Recovered/Succeeded schedule 11:59 #1"],
        status={"consecutiveFailures": 0},
    ),
    Case(
        "a success after a resume that cleared the count is still a recovery",
        snapshot(
            spec_of(notifications=[ALL]),
            last_slot="11:59",
            status=counted(0, FAILED_1158.name, "11:58:10", failing=True),
            jobs=[FAILED_1158, OK_1159],
        ),
        now=at("11:59:30"),
        want=["notify Recovered/Succeeded schedule 11:59 #1"],
    ),
    Case(
        "a success after a success is Succeeded only",
        snapshot(
            spec_of(notifications=[ALL]),
            last_slot="11:59",
            status=counted(0, OK_1158.name, "11:58:10"),
            jobs=[OK_1158, OK_1159],
        ),
        now=at("11:59:30"),
        want=["notify Succeeded schedule 11:59 #1"],
    ),
    Case(
        "a failed attempt with a retry to come is not told (nor its job's streak moved)",
        snapshot(
            spec_of(notifications=[ALL], retry=RETRY_TWICE),
            last_slot="11:59",
            status=counted(0, OK_1158.name, "11:58:10"),
            jobs=[OK_1158, FAILED_1159],
        ),
        now=at("11:59:12"),
        want=[],
        status={"consecutiveFailures": 0},
    ),
    Case(
        "the last attempt failing with retries configured is DeadLettered, then Failed",
        snapshot(
            spec_of(notifications=[ALL], retry=RETRY_TWICE),
            last_slot="11:59",
            status=counted(0, FAILED_1159.name, "11:59:10"),
            jobs=[FAILED_1159, job("11:59", "Failed", attempt=2, finished="11:59:30")],
        ),
        now=at("11:59:40"),
        want=["notify DeadLettered/Failed schedule 11:59 #2"],
    ),
    Case(
        "a run counted by an earlier pass is not told again",
        snapshot(
            spec_of(notifications=[ALL]),
            last_slot="11:59",
            status=counted(1, FAILED_1159.name, "11:59:10"),
            jobs=[FAILED_1159],
        ),
        now=at("11:59:40"),
        want=[],
    ),
    Case(
        "an outcome no entry subscribes to is not told",
        snapshot(
            spec_of(notifications=[notify("Failed")]),
            last_slot="11:59",
            status=counted(0, OK_1158.name, "11:58:10"),
            jobs=[OK_1158, OK_1159],
        ),
        now=at("11:59:30"),
        want=[],
    ),
    Case(
        "without notifications nothing is told",
        snapshot(
            spec_of(),
            last_slot="11:59",
            status=counted(0, OK_1158.name, "11:58:10"),
            jobs=[OK_1158, FAILED_1159],
        ),
        now=at("11:59:30"),
        want=[],
    ),
    Case(
        "the pause after failures is told to the Failed subscribers after the run",
        snapshot(
            spec_of(notifications=[notify("Failed")], pauseAfterFailures=2),
            last_slot="11:59",
            status=counted(1, FAILED_1158.name, "11:58:10"),
            jobs=[FAILED_1158, FAILED_1159],
        ),
        now=at("11:59:30"),
        want=[
            "notify Failed schedule 11:59 #1",
            "suspend after schedule 11:59 #1",
            "notify Paused schedule 11:59 #1",
        ],
    ),
    Case(
        "a pause nobody subscribed Failed for is not told",
        snapshot(
            spec_of(notifications=[notify("Recovered")], pauseAfterFailures=2),
            last_slot="11:59",
            status=counted(1, FAILED_1158.name, "11:58:10"),
            jobs=[FAILED_1158, FAILED_1159],
        ),
        now=at("11:59:30"),
        want=["suspend after schedule 11:59 #1"],
    ),
    Case(
        "two runs finished since the last pass are told in the order they ended",
        snapshot(
            spec_of(notifications=[ALL]),
            last_slot="11:59",
            status=counted(0, job("11:57", "Succeeded").name, "11:57:10"),
            jobs=[FAILED_1158, OK_1159],
        ),
        now=at("11:59:30"),
        want=["notify Failed schedule 11:58 #1", "notify Recovered/Succeeded schedule 11:59 #1"],
    ),
]


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_notification_pass(case: Case) -> None:
    check(case)


def test_a_resume_clears_the_count_but_not_the_failing_mark() -> None:
    given = snapshot(
        spec_of(notifications=[ALL], pauseAfterFailures=1),
        last_slot="11:59",
        status=counted(1, FAILED_1159.name, "11:59:10") | {"conditions": SUSPENDED},
        jobs=[FAILED_1159],
    )
    status = reconcile(given, at("12:00:30")).status
    assert status["consecutiveFailures"] == 0
    assert StreakMark.model_validate(status["failuresCountedTo"]).failing is True


def test_a_mark_that_is_not_failing_is_written_without_the_field() -> None:
    given = snapshot(
        spec_of(), last_slot="11:59", status=counted(0, OK_1158.name, "11:58:10"), jobs=[OK_1159]
    )
    status = reconcile(given, at("11:59:30")).status
    assert "failing" not in status["failuresCountedTo"]
