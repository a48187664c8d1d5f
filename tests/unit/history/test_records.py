"""Run records: phase merging, truncation of results, pending-write merging."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from almanac.core.errors import NaiveDatetimeError
from almanac.core.status import RunPhase
from almanac.history import MAX_RESULT_BYTES, OutboxMessage, RunWrite, merge_records, phase_rank
from almanac.history.records import merge_writes, truncate_result
from tests.unit.history.builders import finished, record, running

P = RunPhase


@pytest.mark.parametrize(
    ("old", "new", "kept"),
    [
        pytest.param(P.PENDING, P.RUNNING, P.RUNNING, id="running-after-pending-wins"),
        pytest.param(P.RUNNING, P.SUCCEEDED, P.SUCCEEDED, id="final-after-running-wins"),
        pytest.param(P.SUCCEEDED, P.RUNNING, P.SUCCEEDED, id="running-after-final-is-ignored"),
        pytest.param(P.FAILED, P.PENDING, P.FAILED, id="pending-after-final-is-ignored"),
        pytest.param(P.FAILED, P.SUCCEEDED, P.FAILED, id="first-final-phase-stays"),
        pytest.param(P.SKIPPED, P.CANCELLED, P.CANCELLED, id="a-run-replaces-a-skipped-slot"),
        pytest.param(P.SKIPPED, P.PENDING, P.PENDING, id="a-launch-replaces-a-skipped-slot"),
        pytest.param(P.RUNNING, P.SKIPPED, P.RUNNING, id="a-skip-never-replaces-a-run"),
    ],
)
def test_merge_keeps_the_later_phase(old: RunPhase, new: RunPhase, kept: RunPhase) -> None:
    merged = merge_records(replace(record(), phase=old), replace(record(), phase=new))

    assert merged.phase == kept


def test_merge_fills_fields_the_winner_lacks() -> None:
    started = running()
    final = replace(finished(), started_at=None, pod=None)

    merged = merge_records(started, final)

    assert merged.phase == RunPhase.SUCCEEDED
    assert merged.started_at == started.started_at
    assert merged.pod == "pod-1"


def test_a_skipped_slots_reason_does_not_stick_to_the_run_replacing_it() -> None:
    merged = merge_records(record(RunPhase.SKIPPED, reason="suspended"), running())

    assert (merged.phase, merged.reason) == (RunPhase.RUNNING, None)


def test_a_dead_letter_mark_is_kept_when_a_replay_lacks_it() -> None:
    dead = finished(RunPhase.FAILED, dead_lettered_at=finished().slot)

    merged = merge_records(dead, finished(RunPhase.FAILED))

    assert merged.dead_lettered_at == dead.dead_lettered_at


def test_merge_ignored_observation_still_fills_gaps() -> None:
    final = replace(finished(), pod=None)

    merged = merge_records(final, running(pod="pod-9"))

    assert (merged.phase, merged.pod) == (RunPhase.SUCCEEDED, "pod-9")


def test_same_phase_takes_the_fresher_details() -> None:
    merged = merge_records(finished(error="a"), finished(error="b"))

    assert merged.error == "b"


@given(st.lists(st.sampled_from(list(RunPhase)), min_size=1, max_size=8))
def test_merging_any_order_ends_at_the_highest_rank(phases: list[RunPhase]) -> None:
    merged = None
    for phase in phases:
        merged = merge_records(merged, replace(record(), phase=phase))

    assert merged is not None
    assert phase_rank(merged.phase) == max(phase_rank(p) for p in phases)


def test_small_result_is_kept_as_is() -> None:
    result = {"status": "ok", "summary": "fine"}

    assert truncate_result(result) is result


def test_oversized_result_becomes_a_marked_stub_within_the_limit() -> None:
    result = {"status": "ok", "summary": "s" * 50_000, "details": {"rows": list(range(10_000))}}

    stub = truncate_result(result)

    assert stub is not None
    assert stub["truncated"] is True
    assert stub["status"] == "ok"
    assert stub["original_bytes"] > MAX_RESULT_BYTES
    assert len(json.dumps(stub).encode()) <= MAX_RESULT_BYTES


def test_oversized_result_without_summary_keeps_a_preview() -> None:
    stub = truncate_result({"blob": "x" * 100}, limit=64)

    assert stub is not None
    assert stub["truncated"] is True
    assert stub["preview"].startswith('{"blob"')


def test_bounded_cuts_long_errors() -> None:
    bounded = finished(RunPhase.FAILED, error="e" * 10_000).bounded()

    assert bounded.error is not None
    assert len(bounded.error) == 4096


def test_naive_datetimes_are_refused() -> None:
    with pytest.raises(NaiveDatetimeError):
        record(slot=datetime(2026, 3, 1, 2, 0))


def test_merge_writes_unites_messages_by_event_id() -> None:
    a = OutboxMessage("a", "t", "k", {})
    b = OutboxMessage("b", "t", "k", {})

    merged = merge_writes(RunWrite(running(), (a,)), RunWrite(finished(), (a, b)))

    assert merged.record.phase == RunPhase.SUCCEEDED
    assert [m.event_id for m in merged.messages] == ["a", "b"]
