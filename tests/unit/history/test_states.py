"""A run's state: its phase, refined by the timeout and dead-letter marks."""

from __future__ import annotations

from dataclasses import replace

import pytest

from almanac.core.status import RunPhase
from almanac.history.records import TIMEOUT_REASON, RunRecord
from almanac.history.states import RunState, state_of
from tests.unit.history.builders import SLOT, finished, record

FAILED = finished(RunPhase.FAILED)


@pytest.mark.parametrize(
    ("row", "state"),
    [
        pytest.param(FAILED, RunState.FAILED, id="failed-unmarked"),
        pytest.param(replace(FAILED, reason=TIMEOUT_REASON), RunState.TIMEOUT, id="timeout"),
        pytest.param(replace(FAILED, dead_lettered_at=SLOT), RunState.DEAD_LETTERED, id="dead"),
        pytest.param(
            replace(FAILED, reason=TIMEOUT_REASON, dead_lettered_at=SLOT),
            RunState.DEAD_LETTERED,
            id="dead-letter-mark-comes-first",
        ),
        pytest.param(
            replace(finished(), reason=TIMEOUT_REASON),
            RunState.SUCCEEDED,
            id="marks-on-failed-only",
        ),
        pytest.param(record(RunPhase.SKIPPED, reason="suspended"), RunState.SKIPPED, id="skipped"),
        pytest.param(
            record(RunPhase.PENDING, reason="queued:namespace"), RunState.QUEUED, id="queued"
        ),
        pytest.param(record(RunPhase.PENDING), RunState.PENDING, id="pending-released"),
        pytest.param(
            record(RunPhase.RUNNING, reason="queued:namespace"),
            RunState.RUNNING,
            id="queue-mark-on-pending-only",
        ),
    ],
)
def test_state_of_a_row(row: RunRecord, state: RunState) -> None:
    assert state_of(row) == state
