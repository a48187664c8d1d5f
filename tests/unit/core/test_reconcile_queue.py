"""Runs waiting in the launch queue (Jobs created suspended by a limit) as a table of named
passes. The decision: a queued run is an unfinished run of its ScheduledJob, so the overlap
policy treats it as active (a ``Forbid`` slot is skipped behind it, ``Replace`` deletes it,
``BufferOne`` buffers); the limits themselves are the launcher's (``almanac.core.queueing``),
not the pass's. Status lists it with ``queued: true`` and its reason, counts it in
``queuedCount`` (and in ``activeCount``), and gives it no start time."""

from __future__ import annotations

import dataclasses

import pytest

from almanac.core.reconcile import reconcile
from almanac.core.runs import JobObservation
from almanac.core.status import RunPhase
from tests.support.reconcile import Case, at, check, iso, job, snapshot, spec_of


def queued(slot: str, reason: str = "namespace") -> JobObservation:
    """A run's Job as the watch shows one the launcher created suspended."""
    return dataclasses.replace(
        job(slot),
        phase=RunPhase.PENDING,
        start_time=None,
        suspended=True,
        queued=reason,
        queued_at=at(slot),
    )


CASES = [
    Case(
        "Forbid: a slot due while the last run waits in the queue is skipped",
        snapshot(spec_of(overlapPolicy="Forbid"), last_slot="11:59", jobs=[queued("11:59")]),
        now=at("12:00:01"),
        want=["metric skipped overlap_forbidden", "event Skipped"],
        status={"queuedCount": 1, "activeCount": 1},
    ),
    Case(
        "Replace: the queued run is replaced like a running one",
        snapshot(spec_of(overlapPolicy="Replace"), last_slot="11:59", jobs=[queued("11:59")]),
        now=at("12:00:01"),
        want=[
            "delete schedule 11:59 #1 (replaced)",
            "event Replaced",
            "create schedule 12:00 #1 (Launched)",
        ],
        cancelled=["schedule 11:59 #1 Cancelled at 12:00:01"],
    ),
    Case(
        "BufferOne: the slot waits behind the queued run",
        snapshot(spec_of(overlapPolicy="BufferOne"), last_slot="11:59", jobs=[queued("11:59")]),
        now=at("12:00:01"),
        want=["event Buffered"],
        buffered=at("12:00"),
    ),
    Case(
        "Allow: the pass creates the slot's run; whether it starts is the limits' call",
        snapshot(spec_of(overlapPolicy="Allow"), last_slot="11:59", jobs=[queued("11:59")]),
        now=at("12:00:01"),
        want=["create schedule 12:00 #1 (Launched)"],
    ),
    Case(
        "status lists a queued run with its reason and gives it no start",
        snapshot(
            spec_of(overlapPolicy="Allow"),
            last_slot="12:00",
            status={"lastStartTime": iso("11:58")},
            jobs=[job("11:59"), queued("12:00", "maxConcurrentRuns")],
        ),
        now=at("12:00:30"),
        want=[],
        status={
            "activeCount": 2,
            "queuedCount": 1,
            "lastStartTime": iso("11:59"),  # the running one's; the queued one has none
        },
    ),
    Case(
        "no queued run: queuedCount is left out",
        snapshot(last_slot="11:59", jobs=[job("11:59")]),
        now=at("11:59:30"),
        want=[],
        status={"queuedCount": None, "activeCount": 1},
    ),
]


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.name)
def test_queued_runs_in_a_pass(case: Case) -> None:
    check(case)


def test_each_queued_run_says_so_in_status() -> None:
    given = snapshot(
        spec_of(overlapPolicy="Allow"),
        last_slot="12:00",
        jobs=[job("11:59"), queued("12:00", "maxConcurrentRuns")],
    )
    active = reconcile(given, at("12:00:30")).status["active"]
    assert [(a["slot"], a.get("queued"), a.get("queueReason")) for a in active] == [
        (iso("11:59"), None, None),
        (iso("12:00"), True, "maxConcurrentRuns"),
    ]
    assert "startTime" not in active[1]
