"""The reconcile pass as a table, continued (see ``test_reconcile.py``): the runs asked for
besides the schedule (run-now, retries by policy and by hand, RunRequests of events and
backfills), what a new leader inherits, history limits, and the template's verdict."""

from __future__ import annotations

import pytest

from almanac.core.backfills import backfill_key, backfill_value
from almanac.core.requestdecisions import EVENTS_READ_RECHECK
from almanac.core.runrequests import backfill_request
from almanac.core.vocabulary import ANNOTATION_BACKFILL
from tests.support.reconcile import (
    REF,
    Case,
    at,
    check,
    iso,
    job,
    kafka,
    request,
    snapshot,
    spec_of,
    template_of,
)

HOURLY = {"cron": "0 * * * *"}
#: Three attempts in all: 30s after the first failure, 60s after the second.
RETRY = {"maxAttempts": 3, "backoff": {"initial": "30s", "factor": 2, "max": "10m"}}
RETRYING = spec_of(schedule=HOURLY, retry=RETRY)
TRIGGERED = spec_of(schedule=HOURLY, triggers=[kafka()])
ALLOW = spec_of(schedule=HOURLY, overlapPolicy="Allow")
FORBID = spec_of(schedule=HOURLY)
RUN_NOW = {"almanac.dev/run-now": "k1"}
#: The failed attempts of slot 12:00.
FAILED = job("12:00", "Failed", finished="12:00:20")
SECOND = job("12:00", "Failed", attempt=2, finished="12:01")
THIRD = job("12:00", "Failed", attempt=3, finished="12:03")
RUNNING = job("12:00")
#: The run of run-now key k1.
ASKED = job("12:00:10", trigger="manual", run_now_key="k1")
FORBIDDEN = ["metric skipped overlap_forbidden", "event Skipped"]
PAUSED = spec_of(schedule=HOURLY, triggers=[kafka()], suspend=True)
BAD = {"command": "not a list"}
SETTLED = [request(p, "12:04", phase=p) for p in ("Launched", "Cancelled", "Skipped", "Failed")]
#: Three backfill requests, listed out of slot order, and one launched whose Job is unseen.
BACKFILLS = [request(f"bf-{h}", f"0{7 + h}:00", kind="backfill") for h in (3, 1, 2)]
UNSEEN = request("bf-0", "07:00", kind="backfill", phase="Launched", job_name="unseen")
THREE_RUNS = spec_of(schedule={"cron": "* * * * *", "maxRuns": 3})
THREE_SUCCEEDED = [job(slot, "Succeeded") for slot in ("11:58", "11:59", "12:00")]


ACKED = {"runNowKeys": [f"retry:{FAILED.name}"]}
#: ``almanac backfill`` without the facade: the slots 09:00, 10:00 and 11:00 of HOURLY.
RANGE = backfill_value(at("09:00"), at("11:00"))
ASK_RANGE = {ANNOTATION_BACKFILL: RANGE}


def asked(clock: str) -> str:
    """The RunRequest a backfill of slot ``clock`` stores (the facade's name for it)."""
    return backfill_request(REF.name, REF.uid, at(clock))[0]


def retry(name: str) -> dict[str, str]:
    return {"almanac.dev/retry": name}


CASES = [
    # -- run-now -----------------------------------------------------------------------------
    Case(
        "run-now: a new key launches one manual run and is acknowledged",
        snapshot(annotations=RUN_NOW, last_slot="12:00"),
        now=at("12:00:30"),
        want=["create manual 12:00:30 #1 (RunNow)"],
        status={"runNowKeys": ["k1"], "counts.launched": 0},
    ),
    Case(
        "run-now: a key already acknowledged runs nothing",
        snapshot(annotations=RUN_NOW, last_slot="12:00", status={"runNowKeys": ["k0", "k1"]}),
        now=at("12:00:30"),
        want=[],
        status={"runNowKeys": ["k0", "k1"]},
    ),
    Case(
        "run-now: a key whose run exists but whose acknowledgement was lost runs nothing",
        snapshot(annotations=RUN_NOW, last_slot="12:00", jobs=[ASKED]),
        now=at("12:00:30"),
        want=[],
        status={"runNowKeys": ["k1"]},
    ),
    Case(
        "run-now: keys are remembered newest last, the 20 newest only",
        snapshot(
            annotations={"almanac.dev/run-now": "k20"},
            last_slot="12:00",
            status={"runNowKeys": [f"k{i}" for i in range(20)]},
        ),
        now=at("12:00:30"),
        want=["create manual 12:00:30 #1 (RunNow)"],
        status={"runNowKeys": [f"k{i}" for i in range(1, 21)]},
    ),
    Case(
        "run-now is an explicit ask: it starts beside an active run even under Forbid",
        snapshot(annotations=RUN_NOW, last_slot="12:00", jobs=[RUNNING]),
        now=at("12:00:30"),
        want=["create manual 12:00:30 #1 (RunNow)"],
    ),
    # -- decisions within one pass -----------------------------------------------------------
    Case(
        "a run-now and a due slot under Forbid: the run-now counts as active, the slot is skipped",
        snapshot(annotations=RUN_NOW, last_slot="11:59"),
        now=at("12:00:01"),
        want=["create manual 12:00:01 #1 (RunNow)", *FORBIDDEN],
        status={"counts.skipped": 1, "lastScheduleTime": iso("12:00")},
    ),
    Case(
        "a due retry and a due slot under Forbid: the retry starts, the slot is skipped",
        snapshot(spec_of(retry=RETRY), last_slot="12:00", jobs=[FAILED]),
        now=at("12:01:10"),
        want=["create schedule 12:00 #2 (Retrying)", *FORBIDDEN],
        status={"counts.skipped": 1},
    ),
    # -- takeover: a new leader with the status its predecessor wrote -------------------------
    Case(
        "takeover: a slot launched by the previous leader whose status write was lost is "
        "counted, not launched twice",
        snapshot(last_slot="11:59", launched=5, jobs=[job("12:00")]),
        now=at("12:00:02"),
        want=[],
        status={"counts.launched": 6},
    ),
    Case(
        "takeover under Forbid: the previous leader's run still active forbids a second run",
        snapshot(last_slot="11:58", launched=3, jobs=[job("11:59")]),
        now=at("12:00:01"),
        want=FORBIDDEN,
        status={"counts.launched": 4, "counts.skipped": 1, "activeCount": 1},
    ),
    Case(
        "takeover under maxRuns: a lost write's Job counts towards maxRuns, no extra run",
        snapshot(THREE_RUNS, last_slot="11:59", launched=2, jobs=[*THREE_SUCCEEDED]),
        now=at("12:00:40"),
        want=[],
        status={"counts.launched": 3, "condition Complete": ("True", "Complete")},
        wake=None,
    ),
    # -- retries -------------------------------------------------------------------------------
    Case(
        "retry: a failed run with attempts left waits for its backoff",
        snapshot(RETRYING, last_slot="12:00", jobs=[FAILED]),
        now=at("12:00:25"),
        want=[],
        status={"counts.failed": 1},
        wake=at("12:00:50"),
    ),
    Case(
        "retry: once the backoff is over, the next attempt of the slot starts",
        snapshot(RETRYING, last_slot="12:00", jobs=[FAILED]),
        now=at("12:00:50"),
        want=["create schedule 12:00 #2 (Retrying)"],
        status={"counts.launched": 1},
    ),
    Case(
        "retry: the backoff grows by its factor after each failed attempt",
        snapshot(RETRYING, last_slot="12:00", jobs=[FAILED, SECOND]),
        now=at("12:01:05"),
        want=[],
        wake=at("12:02"),
    ),
    Case(
        "retry: with no attempt left the run has failed for good",
        snapshot(RETRYING, last_slot="12:00", jobs=[FAILED, SECOND, THIRD]),
        now=at("12:05"),
        want=[],
        status={"counts.failed": 3},
        wake=at("13:00"),
    ),
    Case(
        "retry: a succeeded run never retries",
        snapshot(RETRYING, last_slot="12:00", jobs=[job("12:00", "Succeeded")]),
        now=at("12:05"),
        want=[],
        wake=at("13:00"),
    ),
    Case(
        "retry: a next attempt already running is not started again",
        snapshot(RETRYING, last_slot="12:00", jobs=[FAILED, job("12:00", attempt=2)]),
        now=at("12:05"),
        want=[],
        status={"activeCount": 1},
    ),
    Case(
        "retry: an event run retries with its RunRequest's event",
        snapshot(
            spec_of(schedule=HOURLY, triggers=[kafka()], retry=RETRY),
            last_slot="12:00",
            jobs=[job("12:03", "Failed", trigger="event", request="rr-1", finished="12:03:30")],
            requests=[request("rr-1", "12:03", phase="Launched")],
        ),
        now=at("12:05"),
        want=["create event 12:03 #2 (Retrying)"],
    ),
    # -- retry by hand: almanac.dev/retry ----------------------------------------------------
    Case(
        "manual retry of a failed run starts its next attempt, acknowledged once",
        snapshot(FORBID, annotations=retry(FAILED.name), last_slot="12:00", jobs=[FAILED]),
        now=at("12:05"),
        want=["create retry 12:00 #2 (Retrying)"],
        status={"runNowKeys": [f"retry:{FAILED.name}"]},
    ),
    Case(
        "manual retry after the automatic attempts: its number follows the last attempt",
        snapshot(
            spec_of(schedule=HOURLY, retry={"maxAttempts": 2}),
            annotations=retry(FAILED.name),
            last_slot="12:00",
            jobs=[FAILED, SECOND],
        ),
        now=at("12:05"),
        want=["create retry 12:00 #3 (Retrying)"],
    ),
    Case(
        "manual retry of a run still running is refused with an Event, and acknowledged",
        snapshot(FORBID, annotations=retry(RUNNING.name), last_slot="12:00", jobs=[RUNNING]),
        now=at("12:05"),
        want=["event RetryRefused"],
        status={"runNowKeys": [f"retry:{RUNNING.name}"]},
    ),
    Case(
        "manual retry of a run this job does not have is refused",
        snapshot(FORBID, annotations=retry("report-20261201"), last_slot="12:00"),
        now=at("12:05"),
        want=["event RetryRefused"],
        status={"runNowKeys": ["retry:report-20261201"]},
    ),
    Case(
        "manual retry acts once: an acknowledged request runs nothing",
        snapshot(annotations=retry(FAILED.name), last_slot="12:00", jobs=[FAILED], status=ACKED),
        now=at("12:00:30"),
        want=[],
        status=ACKED,
    ),
    # -- RunRequests of events -----------------------------------------------------------------
    Case(
        "a pending RunRequest whose due time has come launches",
        snapshot(TRIGGERED, last_slot="12:00", requests=[request("rr-1", "12:04")]),
        now=at("12:05"),
        want=["launch rr-1 (Triggered)"],
        status={"counts.launched": 0},
    ),
    Case(
        "an overdue event run waits while the consumer has not handled the events up to its "
        "due time (one sent before it may cancel it), and looks again soon",
        snapshot(
            TRIGGERED,
            last_slot="12:00",
            requests=[request("rr-1", "12:04")],
            events_read_to="12:03",
        ),
        now=at("12:05"),
        want=[],
        wake=at("12:05") + EVENTS_READ_RECHECK,
    ),
    Case(
        "an overdue event run launches once the consumer has handled the events up to its due time",
        snapshot(
            TRIGGERED,
            last_slot="12:00",
            requests=[request("rr-1", "12:04")],
            events_read_to="12:04",
        ),
        now=at("12:05"),
        want=["launch rr-1 (Triggered)"],
    ),
    Case(
        "a backfill does not wait for the trigger consumer: no event can cancel it",
        snapshot(
            TRIGGERED,
            last_slot="12:00",
            requests=[request("bf-1", "12:04", kind="backfill")],
            events_read_to="12:03",
        ),
        now=at("12:05"),
        want=["launch bf-1 (Backfilled)"],
    ),
    Case(
        "a RunRequest due later wakes the job at its due time",
        snapshot(TRIGGERED, last_slot="12:00", requests=[request("rr-1", "12:30")]),
        now=at("12:05"),
        want=[],
        wake=at("12:30"),
    ),
    Case(
        "a RunRequest due while the job is suspended is settled Skipped",
        snapshot(PAUSED, last_slot="12:00", requests=[request("rr-1", "12:04")]),
        now=at("12:05"),
        want=["settle rr-1 Skipped"],
    ),
    Case(
        "a RunRequest whose params the template refuses: trigger failure, Failed, an Event",
        snapshot(TRIGGERED, last_slot="12:00", requests=[request("rr-1", "12:04", params=BAD)]),
        now=at("12:05"),
        want=["count orders failed", "settle rr-1 Failed", "event TriggerFailed"],
    ),
    Case(
        "RunRequests no longer Pending are left alone",
        snapshot(TRIGGERED, last_slot="12:00", requests=SETTLED),
        now=at("12:05"),
        want=[],
        wake=at("13:00"),
    ),
    Case(
        "event runs do not go through the overlap policy: one starts beside an active run",
        snapshot(TRIGGERED, last_slot="12:00", jobs=[RUNNING], requests=[request("rr-1", "12:04")]),
        now=at("12:05"),
        want=["launch rr-1 (Triggered)"],
    ),
    Case(
        "a trigger-only job launches its due requests, and has no next run nor wake-up",
        snapshot(spec_of(schedule=None, triggers=[kafka()]), requests=[request("rr-1", "12:04")]),
        now=at("12:05"),
        want=["launch rr-1 (Triggered)"],
        status={"condition Ready": ("True", "Scheduled"), "message Ready": "waiting"},
        wake=None,
    ),
    # -- backfill ----------------------------------------------------------------------------
    Case(
        "backfill under Allow: every due request launches at once, in slot order",
        snapshot(ALLOW, last_slot="12:00", requests=BACKFILLS),
        now=at("12:05"),
        want=[f"launch bf-{h} (Backfilled)" for h in (1, 2, 3)],
    ),
    Case(
        "backfill under Forbid: one at a time, the oldest slot first",
        snapshot(FORBID, last_slot="12:00", requests=BACKFILLS),
        now=at("12:05"),
        want=["launch bf-1 (Backfilled)"],
    ),
    Case(
        "backfill under Forbid waits while a run is active",
        snapshot(FORBID, last_slot="12:00", requests=BACKFILLS, jobs=[RUNNING]),
        now=at("12:05"),
        want=[],
    ),
    Case(
        "backfill under Forbid waits for a launched backfill whose Job is not seen yet",
        snapshot(FORBID, last_slot="12:00", requests=[*BACKFILLS, UNSEEN]),
        now=at("12:05"),
        want=[],
    ),
    Case(
        "backfill by annotation: a RunRequest per slot of the range, acknowledged",
        snapshot(FORBID, last_slot="12:00", annotations=ASK_RANGE),
        now=at("12:05"),
        want=[*(f"ask {asked(c)}" for c in ("09:00", "10:00", "11:00")), "event BackfillRequested"],
        status={"runNowKeys": [backfill_key(RANGE)]},
    ),
    Case(
        "backfill by annotation: an acknowledged range asks nothing again",
        snapshot(
            FORBID,
            last_slot="12:00",
            annotations=ASK_RANGE,
            status={"runNowKeys": [backfill_key(RANGE)]},
        ),
        now=at("12:05"),
        want=[],
    ),
    Case(
        "backfill by annotation: a slot whose request exists is not asked again",
        snapshot(
            FORBID,
            last_slot="12:00",
            annotations=ASK_RANGE,
            requests=[request(asked("10:00"), "10:00", kind="backfill", phase="Launched")],
        ),
        now=at("12:05"),
        want=[f"ask {asked('09:00')}", f"ask {asked('11:00')}", "event BackfillRequested"],
    ),
    Case(
        "backfill by annotation: a value that is no range is refused in an Event, once",
        snapshot(FORBID, last_slot="12:00", annotations={ANNOTATION_BACKFILL: "yesterday"}),
        now=at("12:05"),
        want=["event BackfillRefused"],
        status={"runNowKeys": [backfill_key("yesterday")]},
    ),
    Case(
        "backfill by annotation: a range of more slots than a backfill may ask is refused",
        snapshot(
            spec_of(),
            last_slot="12:00",
            annotations={ANNOTATION_BACKFILL: backfill_value(at("06:00"), at("11:00"))},
        ),
        now=at("12:00:30"),
        want=["event BackfillRefused"],
    ),
    # -- history limits ---------------------------------------------------------------------
    Case(
        "history: succeeded Jobs beyond the limit are deleted oldest first, and counted",
        snapshot(
            spec_of(schedule=HOURLY, history={"successfulJobs": 1}),
            last_slot="12:00",
            status={"counts": {"prunedSucceeded": 4}},
            jobs=[
                job("09:00", "Succeeded", trigger="manual"),
                job("11:00", "Succeeded"),
                job("11:30", "Succeeded", trigger="manual"),
                job("12:00", "Failed"),
            ],
        ),
        now=at("12:05"),
        want=["delete manual 09:00 #1 (pruned)", "delete schedule 11:00 #1 (pruned)"],
        status={"counts.prunedSucceeded": 6, "counts.succeeded": 7, "counts.failed": 1},
    ),
    Case(
        "history: a Job whose history row is not stored yet is kept, and not counted pruned",
        snapshot(
            spec_of(schedule=HOURLY, history={"successfulJobs": 1}),
            last_slot="12:00",
            jobs=[job("09:00", "Succeeded", trigger="manual"), job("11:00", "Succeeded")],
            held=[job("09:00", trigger="manual").name],
        ),
        now=at("12:05"),
        want=["keep manual 09:00 #1"],
        status={"counts.prunedSucceeded": 0, "counts.succeeded": 2},
    ),
    Case(
        "history: an event run without its RunRequest is kept for the event record window",
        snapshot(
            spec_of(schedule=HOURLY, history={"successfulJobs": 0}),
            last_slot="12:00",
            jobs=[
                job("11:30", "Succeeded", trigger="event", request="rr-1", finished="11:40"),
                job("11:50", "Succeeded", trigger="event", request="rr-2", finished="11:55"),
            ],
        ),
        now=at("12:05"),
        want=["delete event 11:30 #1 (pruned)"],
        status={"counts.prunedSucceeded": 1},
    ),
    # -- the template's verdict and the operator's health ------------------------------------------
    Case(
        "a missing template: Ready False TemplateNotFound, nothing launched, no wake-up",
        snapshot(annotations=RUN_NOW, last_slot="11:59", template=None),
        now=at("12:00:01"),
        want=[],
        status={"condition Ready": ("False", "TemplateNotFound"), "runNowKeys": None},
        wake=None,
    ),
    Case(
        "a template whose params schema refuses spec.params: InvalidSpec, nothing launched",
        snapshot(last_slot="11:59", template=template_of({"type": "object", "required": ["url"]})),
        now=at("12:00:01"),
        want=[],
        status={
            "condition Ready": ("False", "InvalidSpec"),
            "condition InvalidSpec": ("True", "InvalidSpec"),
            "message InvalidSpec": "spec.params.url: is required by the template; add it",
        },
        wake=None,
    ),
    Case(
        "a template that does not serve namespace team-a: InvalidSpec, nothing launched",
        snapshot(last_slot="11:59", template=template_of(allowed_namespaces=["team-b"])),
        now=at("12:00:01"),
        want=[],
        status={"condition InvalidSpec": ("True", "InvalidSpec")},
    ),
    Case(
        "an invalid spec: InvalidSpec with the engine's reason, the counts kept",
        snapshot(spec_of(schedule={"cron": "0 25 * * *"}), last_slot="11:59", launched=4),
        now=at("12:00:01"),
        want=[],
        status={"condition InvalidSpec": ("True", "InvalidSpec"), "counts.launched": 4},
        wake=None,
    ),
    Case(
        "history unavailable: Degraded True HistoryUnavailable, runs still launch",
        snapshot(last_slot="11:59", degraded="history store unreachable"),
        now=at("12:00:01"),
        want=["create schedule 12:00 #1 (Launched)"],
        status={"condition Degraded": ("True", "HistoryUnavailable"), "counts.launched": 1},
    ),
]


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_reconcile(case: Case) -> None:
    check(case)


def test_case_names_are_unique() -> None:
    assert len({c.name for c in CASES}) == len(CASES)
