"""Run names: deterministic, ≤ 63, DNS-1123 labels, unique, never refusing a valid name."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from almanac.core import InvalidNameError, TriggerKind, run_annotations, run_labels, run_name

UID = "0b7f2f5e-1111-4222-8333-444455556666"
SLOT = datetime(2026, 10, 25, 1, 30, tzinfo=UTC)
LABEL = re.compile(r"[a-z0-9]([-a-z0-9]*[a-z0-9])?")


@pytest.mark.parametrize(
    ("kwargs", "expected"),
    [
        pytest.param({}, "nightly-202610250130", id="schedule"),
        pytest.param(
            {"trigger": TriggerKind.CATCHUP},
            "nightly-202610250130",
            id="catchup-shares-the-slot-name",
        ),
        pytest.param(
            {"trigger": TriggerKind.MANUAL, "n": 2}, "nightly-202610250130-m2", id="manual"
        ),
        pytest.param({"trigger": TriggerKind.EVENT, "n": 7}, "nightly-202610250130-e7", id="event"),
        pytest.param({"trigger": TriggerKind.BACKFILL}, "nightly-202610250130-b1", id="backfill"),
        pytest.param(
            {"trigger": TriggerKind.AFTER, "n": 2},
            "nightly-202610250130-f2",
            id="after-uses-f-not-attempt-letter",
        ),
        pytest.param({"attempt": 3}, "nightly-202610250130-a3", id="attempt"),
        pytest.param(
            {"trigger": TriggerKind.RETRY, "attempt": 2},
            "nightly-202610250130-r1-a2",
            id="manual-retry",
        ),
    ],
)
def test_run_name_format(kwargs: dict[str, Any], expected: str) -> None:
    assert run_name("nightly", UID, SLOT, **kwargs) == expected


def test_after_trigger_and_attempt_suffix_never_collide() -> None:
    after_second = run_name("j", UID, SLOT, trigger=TriggerKind.AFTER, n=2)
    second_attempt = run_name("j", UID, SLOT, attempt=2)
    assert after_second != second_attempt


def test_run_name_adds_seconds_only_when_non_zero() -> None:
    assert run_name("j", UID, SLOT + timedelta(seconds=5)) == "j-20261025013005"


def test_run_name_uses_utc_whatever_the_offset() -> None:
    berlin = datetime.fromisoformat("2026-10-25T02:30:00+01:00")
    assert run_name("j", UID, berlin) == "j-202610250130"


@pytest.mark.parametrize(
    "name",
    [
        pytest.param("a" * 253, id="max-length"),
        pytest.param("a" * 51, id="just-too-long"),
        pytest.param("team.nightly.export", id="dots"),
        pytest.param(".".join(["abc"] * 63), id="many-dots"),
    ],
)
def test_long_or_dotted_names_are_truncated_with_hash(name: str) -> None:
    got = run_name(name, UID, SLOT, trigger=TriggerKind.EVENT, n=999_999, attempt=999_999)
    assert len(got) <= 63
    assert LABEL.fullmatch(got), got
    assert got != run_name(
        name, UID + "x", SLOT, trigger=TriggerKind.EVENT, n=999_999, attempt=999_999
    )


@pytest.mark.parametrize("name", ["j", "a" * 60, "team.nightly"])
def test_a_slot_launched_on_time_or_caught_up_has_one_name(name: str) -> None:
    # A new leader catches up a slot the old one launched on time: AlreadyExists, not a
    # second run (hashed names once differed by trigger).
    on_time = run_name(name, UID, SLOT, trigger=TriggerKind.SCHEDULE)
    assert run_name(name, UID, SLOT, trigger=TriggerKind.CATCHUP) == on_time
    assert run_name(name, UID, SLOT, trigger=TriggerKind.CATCHUP, n=0) == on_time
    retry = run_name(name, UID, SLOT, trigger=TriggerKind.SCHEDULE, attempt=2)
    assert run_name(name, UID, SLOT, trigger=TriggerKind.CATCHUP, attempt=2) == retry != on_time


def test_sub_second_slots_stay_distinct() -> None:
    a = run_name("j", UID, SLOT + timedelta(milliseconds=100))
    b = run_name("j", UID, SLOT + timedelta(milliseconds=200))
    assert a != b
    assert LABEL.fullmatch(a)


@pytest.mark.parametrize("name", ["", "Nightly", "a_b", "-a", "a" * 254, "a..b"])
def test_invalid_scheduled_job_names_are_refused(name: str) -> None:
    with pytest.raises(InvalidNameError) as caught:
        run_name(name, UID, SLOT)
    assert caught.value.code == "invalid_name"


def test_run_labels_and_annotation_follow_contract() -> None:
    labels = run_labels("x" * 100, UID, SLOT, trigger=TriggerKind.CATCHUP, attempt=2)
    assert labels == {
        "almanac.dev/scheduledjob": "x" * 63,
        "almanac.dev/scheduledjob-uid": UID,
        "almanac.dev/slot": str(int(SLOT.timestamp())),
        "almanac.dev/trigger": "catchup",
        "almanac.dev/attempt": "2",
    }
    assert run_annotations(SLOT) == {"almanac.dev/scheduled-time": "2026-10-25T01:30:00Z"}


@pytest.mark.parametrize("name", ["j", "a" * 40, "team.nightly"])
def test_run_names_unique_over_every_small_combination(name: str) -> None:
    slots = [SLOT, SLOT + timedelta(seconds=1), SLOT + timedelta(minutes=1)]
    names: dict[tuple[object, ...], str] = {}
    for slot in slots:
        for trigger in TriggerKind:
            for attempt in (1, 2, 3):
                for n in (0, 1, 2, 3):
                    same_slot = trigger in {TriggerKind.SCHEDULE, TriggerKind.CATCHUP}
                    identity = (
                        slot,
                        "slot" if same_slot else trigger,
                        0 if same_slot else n,
                        attempt,
                    )
                    names[identity] = run_name(
                        name, UID, slot, trigger=trigger, attempt=attempt, n=n
                    )
    assert len(set(names.values())) == len(names)
