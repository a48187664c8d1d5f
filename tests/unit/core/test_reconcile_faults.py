"""The reconcile table, continued: situations a first version of the pure reconcile got
wrong, each written down as the case that failed before its fix (history limits that
never pruned failed Jobs, a manual retry, by annotation or request, doubled by the
automatic one, an event run retried without its event, Complete announced while the last
run still ran, a buffered slot overtaken by a newer one, and the counting a new leader
inherits)."""

from __future__ import annotations

import pytest

from tests.support.reconcile import (
    Case,
    at,
    check,
    job,
    kafka,
    request,
    snapshot,
    spec_of,
)

HOURLY = {"cron": "0 * * * *"}
RETRY = {"maxAttempts": 3, "backoff": {"initial": "30s", "factor": 2, "max": "10m"}}
FAILED = job("12:00", "Failed", finished="12:00:20")
TWO_RUNS = {"cron": "* * * * *", "maxRuns": 2}
FOUR_RUNS = {"cron": "* * * * *", "maxRuns": 4}
EVENT_RUN = job("12:03", "Failed", trigger="event", request="rr-1", finished="12:03:30")


def retry(name: str) -> dict[str, str]:
    return {"almanac.dev/retry": name}


CASES = [
    # -- history limits ----------------------------------------------------------------
    Case(
        "history: failed Jobs beyond failedJobs are deleted oldest first, and counted",
        snapshot(
            spec_of(schedule=HOURLY, history={"failedJobs": 1}),
            last_slot="12:00",
            jobs=[job("10:00", "Failed"), job("11:00", "Failed"), job("12:00", "Failed")],
        ),
        now=at("12:10"),
        want=["delete schedule 10:00 #1 (pruned)", "delete schedule 11:00 #1 (pruned)"],
        status={"counts.prunedFailed": 2, "counts.failed": 3},
    ),
    Case(
        "history: a failed attempt whose retry is still to come is kept",
        snapshot(
            spec_of(schedule=HOURLY, retry=RETRY, history={"failedJobs": 0}),
            last_slot="12:00",
            jobs=[FAILED],
        ),
        now=at("12:00:30"),
        want=[],
        wake=at("12:00:50"),
    ),
    # -- retries -----------------------------------------------------------------------
    Case(
        "a manual retry and a due automatic retry of one slot start one attempt, not two",
        snapshot(
            spec_of(schedule=HOURLY, retry=RETRY),
            annotations=retry(FAILED.name),
            last_slot="12:00",
            jobs=[FAILED],
        ),
        now=at("12:05"),
        want=["create retry 12:00 #2 (Retrying)"],
    ),
    Case(
        "an automatic retry waits no more once a manual retry took its attempt",
        snapshot(
            spec_of(schedule=HOURLY, retry=RETRY),
            last_slot="12:00",
            jobs=[FAILED, job("12:00", trigger="retry", attempt=2)],
        ),
        now=at("12:05"),
        want=[],
    ),
    Case(
        "manual retry of an event run starts it again with its event",
        snapshot(
            spec_of(schedule=HOURLY, triggers=[kafka()]),
            annotations=retry(EVENT_RUN.name),
            last_slot="12:00",
            jobs=[EVENT_RUN],
            requests=[request("rr-1", "12:03", phase="Launched")],
        ),
        now=at("12:05"),
        want=["create event 12:03 #2 (Retrying)"],
    ),
    Case(
        "manual retry of an event run whose RunRequest is gone is refused, not run bare",
        snapshot(
            spec_of(schedule=HOURLY, triggers=[kafka()]),
            annotations=retry(EVENT_RUN.name),
            last_slot="12:00",
            jobs=[EVENT_RUN],
        ),
        now=at("12:05"),
        want=["event RetryRefused"],
        status={"runNowKeys": [f"retry:{EVENT_RUN.name}"]},
    ),
    # -- Complete --------------------------------------------------------------------------
    Case(
        "maxRuns: Complete waits while the last run still runs",
        snapshot(spec_of(schedule=TWO_RUNS), last_slot="12:01", launched=2, jobs=[job("12:01")]),
        now=at("12:01:30"),
        want=[],
        status={"condition Complete": ("False", "Scheduling"), "nextRunTime": None},
    ),
    Case(
        "maxRuns: Complete once the last run finished",
        snapshot(
            spec_of(schedule=TWO_RUNS),
            last_slot="12:01",
            launched=2,
            jobs=[job("12:01", "Succeeded", finished="12:01:40")],
        ),
        now=at("12:01:41"),
        want=[],
        status={"condition Complete": ("True", "Complete")},
        wake=None,
    ),
    Case(
        "the last run maxRuns allows launches without announcing Complete yet",
        snapshot(spec_of(schedule=TWO_RUNS, overlapPolicy="Allow"), last_slot="12:00", launched=1),
        now=at("12:01:01"),
        want=["create schedule 12:01 #1 (Launched)"],
        status={"condition Complete": ("False", "Scheduling"), "counts.launched": 2},
    ),
    # -- BufferOne order ---------------------------------------------------------------------
    Case(
        "BufferOne: the buffered slot runs before a newer due slot, which then waits",
        snapshot(
            spec_of(overlapPolicy="BufferOne"),
            last_slot="12:00",
            buffered="12:00",
            jobs=[job("11:59", "Succeeded", finished="12:00:50")],
        ),
        now=at("12:01:01"),
        want=["create schedule 12:00 #1 (Launched)", "event Buffered"],
        buffered=at("12:01"),
    ),
    # -- run-now through REST: a RunRequest per idempotency key ------------------------------
    Case(
        "two run-now requests with different keys both launch in one pass",
        snapshot(
            last_slot="12:00",
            requests=[
                request("rn-k1", "12:00:10", kind="manual"),
                request("rn-k2", "12:00:11", kind="manual"),
            ],
        ),
        now=at("12:00:30"),
        want=["launch rn-k1 (RunNow)", "launch rn-k2 (RunNow)"],
    ),
    Case(
        "a run-now request launches while the job is paused, as the annotation does",
        snapshot(
            spec_of(suspend=True),
            last_slot="12:00",
            requests=[request("rn-k1", "12:00:10", kind="manual")],
        ),
        now=at("12:00:30"),
        want=["launch rn-k1 (RunNow)"],
    ),
    Case(
        "manual retry of a run-now's failed run is a plain retry (nothing to carry over)",
        snapshot(
            annotations=retry(job("12:00:10", "Failed", trigger="manual", request="rn-k1").name),
            last_slot="12:00",
            jobs=[job("12:00:10", "Failed", trigger="manual", request="rn-k1")],
        ),
        now=at("12:00:40"),
        want=["create retry 12:00:10 #2 (Retrying)"],
    ),
    Case(
        "a retry request launches while the job is paused, as the retry annotation does",
        snapshot(
            spec_of(schedule=HOURLY, suspend=True),
            last_slot="12:00",
            jobs=[FAILED],
            requests=[request("rt-1", "12:00", kind="retry", retry_of=FAILED.name, attempt=2)],
        ),
        now=at("12:05"),
        want=["launch rt-1 (Retrying)"],
    ),
    Case(
        "an automatic retry does not also run the attempt a retry request launched",
        snapshot(
            spec_of(schedule=HOURLY, retry=RETRY),
            last_slot="12:00",
            jobs=[FAILED, job("12:00", trigger="retry", attempt=2, request="rt-1")],
            requests=[
                request(
                    "rt-1",
                    "12:00",
                    kind="retry",
                    retry_of=FAILED.name,
                    attempt=2,
                    phase="Launched",
                )
            ],
        ),
        now=at("12:05"),
        want=[],
    ),
    # -- what a new leader inherits ------------------------------------------------------------
    Case(
        "takeover under maxRuns 2: run 2 launched by the old leader, its count lost: no third",
        snapshot(
            spec_of(schedule=TWO_RUNS),
            last_slot="12:00",
            launched=1,
            jobs=[job("12:00", "Succeeded", finished="12:00:10"), job("12:01")],
        ),
        now=at("12:01:02"),
        want=[],
        status={"counts.launched": 2, "nextRunTime": None},
    ),
    Case(
        "status counts that lag the Jobs up to the last slot are raised to them",
        snapshot(
            spec_of(schedule=TWO_RUNS),
            last_slot="12:01",
            launched=0,
            jobs=[
                job("12:00", "Succeeded", finished="12:00:10"),
                job("12:01", "Succeeded", finished="12:01:10"),
            ],
        ),
        now=at("12:02:01"),
        want=[],
        status={"counts.launched": 2, "condition Complete": ("True", "Complete")},
    ),
    Case(
        # Found by make chaos PROFILE=long (4 Dec): max-1 ran six times. Two leaders in a
        # row were killed right after launching, before their status writes; the third
        # caught up from the last recorded slot and launched the newest slots.
        "takeover under maxRuns 4 with catch-up: Jobs of slots past the recorded one count",
        snapshot(
            spec_of(
                schedule=FOUR_RUNS, overlapPolicy="Allow", catchUp={"window": "10m", "maxRuns": 20}
            ),
            last_slot="12:01",
            launched=2,
            jobs=[
                job("12:00", "Succeeded", finished="12:00:10"),
                job("12:01", "Succeeded", finished="12:01:10"),
                job("12:02"),
                job("12:03"),
            ],
        ),
        now=at("12:05:02"),
        want=[],
        status={"counts.launched": 4},
    ),
]


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_reconcile(case: Case) -> None:
    check(case)


def test_case_names_are_unique() -> None:
    assert len({c.name for c in CASES}) == len(CASES)
