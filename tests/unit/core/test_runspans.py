"""A run's spans as values: names, parents, intervals and what they say."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from almanac.core.runspans import (
    HISTORY_SPAN,
    LAUNCH_SPAN,
    NOTICE_SPAN,
    RESULT_SPAN,
    RUN_SPAN,
    RUNNING_SPAN,
    RunFacts,
    due_at,
    finish_spans,
    history_span,
    launch_span,
    notice_span,
    running_span,
)
from almanac.core.status import RunPhase
from almanac.core.tracing import run_trace_id, span_id_of

SLOT = datetime(2026, 3, 29, 1, 30, tzinfo=UTC)
S = timedelta(seconds=1)
FACTS = RunFacts(
    namespace="team-a",
    scheduledjob="nightly",
    scheduledjob_uid="uid-1",
    run="nightly-202603290130",
    slot=SLOT,
    trigger="schedule",
    attempt=1,
    template="command",
)
TRACE = run_trace_id("uid-1", "nightly-202603290130")
ROOT = span_id_of(TRACE, RUN_SPAN)


@pytest.mark.parametrize(
    ("slot", "attempt", "launched", "due"),
    [
        pytest.param(SLOT, 1, SLOT + 2 * S, SLOT, id="first-attempt-from-its-slot"),
        pytest.param(SLOT, 2, SLOT + 600 * S, SLOT + 600 * S, id="retry-from-its-launch"),
        pytest.param(SLOT + 5 * S, 1, SLOT, SLOT, id="never-after-the-launch"),
    ],
)
def test_due_at(slot: datetime, attempt: int, launched: datetime, due: datetime) -> None:
    assert due_at(slot, attempt, launched) == due


def test_every_child_hangs_under_the_root_with_the_run_attributes() -> None:
    children = [
        launch_span(FACTS, SLOT + S, SLOT + 2 * S),
        running_span(FACTS, SLOT + 3 * S, SLOT + 4 * S),
        history_span(FACTS, RunPhase.SUCCEEDED, SLOT + 9 * S, SLOT + 10 * S),
        notice_span(
            FACTS, event_id="e1", topic="t", kind="almanac.run.succeeded", start=SLOT, end=SLOT
        ),
        finish_spans(FACTS, RunPhase.SUCCEEDED, started=SLOT + 3 * S, finished=SLOT + 8 * S)[1],
    ]
    assert [c.name for c in children] == [
        LAUNCH_SPAN,
        RUNNING_SPAN,
        HISTORY_SPAN,
        NOTICE_SPAN,
        RESULT_SPAN,
    ]
    for child in children:
        assert (child.trace_id, child.parent_id) == (TRACE, ROOT), child.name
        assert child.attributes["almanac.run.id"] == "nightly-202603290130"
        assert child.attributes["almanac.scheduledjob.uid"] == "uid-1"
        assert child.attributes["almanac.run.slot"] == "2026-03-29T01:30:00Z"
        assert child.start <= child.end
    assert len({c.span_id for c in children} | {ROOT}) == len(children) + 1


def test_the_launch_span_shows_the_schedule_lag() -> None:
    span = launch_span(FACTS, SLOT + 2 * S, SLOT + 3 * S)
    assert (span.start, span.end) == (SLOT, SLOT + 3 * S)


def test_a_succeeded_run_root_spans_due_to_finished_without_error() -> None:
    root, result = finish_spans(
        FACTS, RunPhase.SUCCEEDED, started=SLOT + 3 * S, finished=SLOT + 8 * S, exit_code=0
    )
    assert (root.name, root.span_id, root.parent_id) == (RUN_SPAN, ROOT, None)
    assert (root.start, root.end) == (SLOT, SLOT + 8 * S)
    assert (result.start, result.end) == (SLOT + 3 * S, SLOT + 8 * S)
    assert root.error is None
    assert result.error is None
    assert result.attributes["almanac.run.phase"] == "Succeeded"
    assert result.attributes["almanac.run.exit_code"] == 0


@pytest.mark.parametrize(
    ("phase", "error", "expected"),
    [
        pytest.param(RunPhase.FAILED, "exit code 3", "exit code 3", id="failed-with-its-error"),
        pytest.param(RunPhase.FAILED, None, "the run ended Failed", id="failed-without-one"),
        pytest.param(RunPhase.CANCELLED, None, None, id="cancelled-is-no-error"),
    ],
)
def test_a_failed_run_marks_its_root_and_result(
    phase: RunPhase, error: str | None, expected: str | None
) -> None:
    root, result = finish_spans(
        FACTS, phase, started=SLOT, finished=SLOT + S, error=error, reason="timeout"
    )
    assert root.error == result.error == expected
    assert result.attributes["almanac.run.reason"] == "timeout"


def test_a_retry_trace_starts_at_its_own_start_not_its_first_slot() -> None:
    retry = replace(FACTS, run="nightly-202603290130-a2", attempt=2)
    root, _ = finish_spans(
        retry, RunPhase.SUCCEEDED, started=SLOT + 600 * S, finished=SLOT + 601 * S
    )
    assert root.start == SLOT + 600 * S


def test_each_notice_of_a_run_is_a_span_of_its_own() -> None:
    spans = [
        notice_span(FACTS, event_id=e, topic="t", kind="k", start=SLOT, end=SLOT + S)
        for e in ("started", "succeeded", "notice")
    ]
    assert len({s.span_id for s in spans}) == 3
    assert spans[0].kind == "producer"
    assert spans[0].attributes["messaging.destination.name"] == "t"


def test_an_end_before_the_start_is_clamped() -> None:
    span = running_span(FACTS, SLOT + 5 * S, SLOT)  # clocks of two machines disagree
    assert span.start == span.end == SLOT + 5 * S
