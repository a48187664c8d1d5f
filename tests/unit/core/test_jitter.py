"""Jitter: deterministic per (uid, slot), within [0, jitter)."""

from __future__ import annotations

from datetime import timedelta

from almanac.core import jitter_offset, launch_time
from tests.unit.core.anchors import TOP_OF_HOUR

JITTER = timedelta(seconds=30)


def test_jitter_is_deterministic_and_bounded() -> None:
    offsets = {jitter_offset(f"uid-{i}", TOP_OF_HOUR, JITTER) for i in range(200)}
    assert all(timedelta(0) <= o < JITTER for o in offsets)
    assert len(offsets) > 100, "different jobs spread out"
    assert jitter_offset("uid-1", TOP_OF_HOUR, JITTER) == jitter_offset(
        "uid-1", TOP_OF_HOUR, JITTER
    )


def test_jitter_varies_by_slot_and_zero_jitter_is_none() -> None:
    slots = [TOP_OF_HOUR + timedelta(hours=h) for h in range(20)]
    assert len({jitter_offset("uid", s, JITTER) for s in slots}) > 1
    assert jitter_offset("uid", TOP_OF_HOUR, timedelta(0)) == timedelta(0)
    assert launch_time("uid", TOP_OF_HOUR, timedelta(0)) == TOP_OF_HOUR
