"""The longest gap between a schedule's next slots: what the per-job interval gauge
exports and the "not succeeded within k times its interval" alert divides by."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from tests.unit.core.anchors import TOP_OF_HOUR, compiled, utc

GAPS = [
    pytest.param({"every": "5s"}, timedelta(seconds=5), id="every-is-its-period"),
    pytest.param({"cron": "*/15 * * * *"}, timedelta(minutes=15), id="quarter-hourly-cron"),
    pytest.param({"cron": "0 9 * * 1-5"}, timedelta(days=3), id="weekdays-span-the-weekend"),
    pytest.param({"cron": ["0 6 * * *", "0 18 * * *"]}, timedelta(hours=12), id="two-lines-merged"),
    pytest.param(
        {"cron": "0 2 * * *", "timeZone": "Europe/Berlin"}, timedelta(days=1), id="daily-zoned"
    ),
    pytest.param({"at": "2026-07-01T00:00:00Z"}, None, id="a-one-off-has-none"),
    pytest.param(
        {"cron": "0 * * * *", "endTime": "2026-06-15T11:00:00Z"}, None, id="one-slot-left"
    ),
    pytest.param(
        {"cron": "0 * * * *", "endTime": "2026-06-15T12:30:00Z"},
        timedelta(hours=1),
        id="two-slots-left",
    ),
]


@pytest.mark.parametrize(("schedule", "gap"), GAPS)
def test_longest_gap_between_the_next_slots(
    schedule: dict[str, Any], gap: timedelta | None
) -> None:
    assert compiled(**schedule).longest_gap(TOP_OF_HOUR) == gap


def test_an_every_past_its_end_has_no_gap() -> None:
    schedule = compiled(every="1h", endTime="2026-06-15T10:30:00Z")
    assert schedule.longest_gap(utc("2026-06-15T10:00:00Z")) is None


def test_a_daily_slot_across_spring_forward_is_still_a_day_apart_at_most() -> None:
    """02:30 in Berlin does not exist on 29 Mar 2026: that slot moves forward and the
    gaps around it shrink to 23 h 30 min; the longest stays a day, no false alert."""
    schedule = compiled(cron="30 2 * * *", timeZone="Europe/Berlin")
    assert schedule.longest_gap(utc("2026-03-25T00:00:00Z")) == timedelta(days=1)
