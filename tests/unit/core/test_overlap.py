"""Overlap policies: what a due slot does while earlier runs are active."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from almanac.core import (
    ActiveRun,
    Buffer,
    Launch,
    OverlapPolicy,
    Skip,
    SkipReason,
    TriggerKind,
    backfill_releases,
    decide_overlap,
    release_buffered,
)
from tests.unit.core.anchors import TOP_OF_HOUR

EARLIER = TOP_OF_HOUR - timedelta(hours=1)
ACTIVE = (ActiveRun(job="nightly-202606150900", slot=EARLIER),)
LAUNCH = Launch(TOP_OF_HOUR, TriggerKind.SCHEDULE)


@pytest.mark.parametrize(
    ("policy", "buffered", "expected"),
    [
        pytest.param(OverlapPolicy.ALLOW, None, LAUNCH, id="allow-launches"),
        pytest.param(
            OverlapPolicy.FORBID,
            None,
            Skip(TOP_OF_HOUR, SkipReason.OVERLAP_FORBIDDEN),
            id="forbid-skips",
        ),
        pytest.param(
            OverlapPolicy.REPLACE,
            None,
            Launch(TOP_OF_HOUR, TriggerKind.SCHEDULE, replace=("nightly-202606150900",)),
            id="replace-names-victims",
        ),
        pytest.param(OverlapPolicy.BUFFER_ONE, None, Buffer(TOP_OF_HOUR), id="buffer-one-queues"),
        pytest.param(
            OverlapPolicy.BUFFER_ONE,
            EARLIER + timedelta(minutes=30),
            Skip(TOP_OF_HOUR, SkipReason.BUFFER_FULL),
            id="buffer-full-skips",
        ),
        pytest.param(
            OverlapPolicy.BUFFER_ONE, TOP_OF_HOUR, Buffer(TOP_OF_HOUR), id="buffer-idempotent"
        ),
    ],
)
def test_decide_overlap_with_an_active_run(
    policy: OverlapPolicy, buffered: datetime | None, expected: object
) -> None:
    assert decide_overlap(policy, LAUNCH, ACTIVE, buffered=buffered) == expected


@pytest.mark.parametrize("policy", list(OverlapPolicy))
def test_decide_overlap_without_active_runs_always_launches(policy: OverlapPolicy) -> None:
    assert decide_overlap(policy, LAUNCH, ()) == LAUNCH


def test_buffered_slot_is_released_when_nothing_is_active() -> None:
    assert release_buffered(TOP_OF_HOUR, ACTIVE) is None
    assert release_buffered(TOP_OF_HOUR, ()) == Launch(TOP_OF_HOUR, TriggerKind.SCHEDULE)
    assert release_buffered(None, ()) is None


# --- backfilled slots ---------------------------------------------------------------

JAN = [datetime(2026, 1, d, tzinfo=UTC) for d in (3, 1, 2)]


@pytest.mark.parametrize(
    ("policy", "in_flight", "started"),
    [
        pytest.param(OverlapPolicy.ALLOW, 0, ["jan1", "jan2", "jan3"], id="allow-all-at-once"),
        pytest.param(OverlapPolicy.ALLOW, 2, ["jan1", "jan2", "jan3"], id="allow-ignores-runs"),
        pytest.param(OverlapPolicy.FORBID, 0, ["jan1"], id="forbid-earliest-first"),
        pytest.param(OverlapPolicy.FORBID, 1, [], id="forbid-waits-not-skips"),
        pytest.param(OverlapPolicy.REPLACE, 1, [], id="replace-never-kills-for-a-backfill"),
        pytest.param(OverlapPolicy.BUFFER_ONE, 0, ["jan1"], id="buffer-one-at-a-time"),
    ],
)
def test_backfilled_slots_start_as_the_overlap_policy_allows(
    policy: OverlapPolicy, in_flight: int, started: list[str]
) -> None:
    due = [(slot, f"jan{slot.day}") for slot in JAN]
    assert backfill_releases(policy, due, in_flight) == started
