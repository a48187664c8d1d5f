"""The chaos suite's accounting finds each kind of fault it exists to find, and nothing in
a clean run: a missed slot, a slot run twice, a Forbid overlap, runs past maxRuns, two
leaders at once, history rows lost, stale or phantom; takeover times from the kills and
the leader samples."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime, timedelta

from hack.chaos.ledger import (
    HistoryGaps,
    Kill,
    RunSeen,
    Workload,
    account,
    history_gaps,
    takeovers,
)

T0 = datetime(2026, 12, 4, 12, 0, tzinfo=UTC)
SLOTS = tuple(T0 + timedelta(seconds=5 * i) for i in range(4))


def run(
    job: str,
    slot: datetime,
    *,
    trigger: str = "schedule",
    attempt: int = 1,
    created: datetime | None = None,
    took: float | None = 1.0,
) -> RunSeen:
    made = created or slot
    finished = made + timedelta(seconds=took) if took is not None else None
    return RunSeen(
        f"{job}-{slot:%H%M%S}-{trigger}-{attempt}", job, slot, trigger, attempt, made, finished
    )


def test_a_clean_run_counts_nothing() -> None:
    allow = Workload("allow-1", "Allow", SLOTS)
    runs = [
        run("allow-1", s, trigger="catchup" if i == 2 else "schedule") for i, s in enumerate(SLOTS)
    ]
    report = account([allow], runs, [frozenset({"a"}), frozenset()])
    assert report.ok, report.table()
    assert report.rows == [("allow-1", 4, 0, 0, 0, 0)]


def test_a_missed_and_a_doubled_slot_are_counted() -> None:
    allow = Workload("allow-1", "Allow", SLOTS)
    runs = [
        run("allow-1", SLOTS[0]),
        run("allow-1", SLOTS[1]),
        run("allow-1", SLOTS[1], trigger="catchup"),
        run("allow-1", SLOTS[3]),
    ]
    report = account([allow], runs, [])
    assert report.rows == [("allow-1", 4, 1, 1, 0, 0)]
    assert not report.ok
    assert "FAILED: 2 faults" in report.table()


def test_a_retry_is_not_a_second_run_of_its_slot() -> None:
    allow = Workload("allow-1", "Allow", SLOTS[:1])
    runs = [run("allow-1", SLOTS[0]), run("allow-1", SLOTS[0], trigger="schedule", attempt=2)]
    assert account([allow], runs, []).ok


def test_a_forbid_run_created_before_the_last_one_finished_is_an_overlap() -> None:
    forbid = Workload("forbid-1", "Forbid", SLOTS)
    runs = [
        run("forbid-1", SLOTS[0], took=7.0),
        run("forbid-1", SLOTS[1], took=7.0),
        run("forbid-1", SLOTS[3]),
    ]
    report = account([forbid], runs, [])
    assert report.rows == [("forbid-1", 3, 0, 0, 1, 0)]


def test_skipped_forbid_slots_are_not_missed() -> None:
    forbid = Workload("forbid-1", "Forbid", SLOTS)
    assert account(
        [forbid], [run("forbid-1", SLOTS[0], took=7.0), run("forbid-1", SLOTS[2])], []
    ).ok


def test_runs_past_max_runs_are_counted() -> None:
    bounded = Workload("max-1", "Allow", SLOTS, max_runs=2)
    runs = [run("max-1", s) for s in SLOTS[:3]]
    assert account([bounded], runs, []).rows == [("max-1", 3, 0, 0, 0, 1)]


def test_a_max_runs_job_may_run_newer_slots_but_not_fewer_runs() -> None:
    """After a takeover the newest due slots get the runs left (by design): slots 0, 1, 3
    is a clean run of three; two runs of three is one missed."""
    bounded = Workload("max-1", "Allow", SLOTS, max_runs=3)
    newest = [run("max-1", s) for s in (SLOTS[0], SLOTS[1], SLOTS[3])]
    assert account([bounded], newest, []).rows == [("max-1", 3, 0, 0, 0, 0)]
    assert account([bounded], newest[:2], []).rows == [("max-1", 2, 1, 0, 0, 0)]


def test_two_leaders_in_one_sample_is_a_fault() -> None:
    report = account([], [], [frozenset({"a"}), frozenset({"a", "b"}), frozenset({"b"})])
    assert report.two_leader_samples == 1
    assert not report.ok


def test_takeover_time_runs_from_the_kill_to_another_leader() -> None:
    samples = [
        (0.0, frozenset({"a"})),
        (10.5, frozenset()),
        (12.0, frozenset({"a"})),
        (14.0, frozenset({"b"})),
    ]
    assert takeovers([Kill(10.0, "a")], samples) == [4.0]


def finished(job: str, slot: datetime, outcome: str | None = "Succeeded") -> RunSeen:
    seen = run(job, slot, took=1.0 if outcome else None)
    return dataclasses.replace(seen, outcome=outcome)


def test_history_that_matches_the_jobs_counts_nothing() -> None:
    runs = [
        finished("a", SLOTS[0]),
        finished("a", SLOTS[1], "Failed"),
        finished("a", SLOTS[2], None),
    ]
    rows = {runs[0].job: "Succeeded", runs[1].job: "Failed", runs[2].job: "Running"}
    assert history_gaps(runs, rows) == HistoryGaps(3)


def test_a_job_without_a_row_is_lost() -> None:
    runs = [finished("a", SLOTS[0]), finished("a", SLOTS[1])]
    assert history_gaps(runs, {runs[0].job: "Succeeded"}) == HistoryGaps(2, lost=1)


def test_a_finished_run_still_running_in_history_is_stale() -> None:
    done, running = finished("a", SLOTS[0]), finished("a", SLOTS[1], None)
    rows = {done.job: "Running", running.job: "Succeeded"}
    assert history_gaps([done, running], rows) == HistoryGaps(2, stale=2)


def test_a_skipped_slots_row_has_no_job_and_is_no_phantom() -> None:
    runs = [finished("forbid-1", SLOTS[0])]
    rows = {runs[0].job: "Succeeded", "forbid-1-202612041200": "Skipped"}
    assert history_gaps(runs, rows) == HistoryGaps(1)
    assert history_gaps(runs, {runs[0].job: "Skipped"}) == HistoryGaps(1, stale=1)


def test_a_row_without_a_job_is_phantom_and_fails_the_report() -> None:
    runs = [finished("allow-1", s) for s in SLOTS]
    rows = {r.job: "Succeeded" for r in runs} | {"allow-1-ghost": "Succeeded"}
    gaps = history_gaps(runs, rows)
    assert gaps == HistoryGaps(4, phantom=1)
    report = account([Workload("allow-1", "Allow", SLOTS)], runs, [], history=gaps)
    assert not report.ok
    assert "history rows of 4 runs: lost 0, stale 0, phantom 1" in report.table()
