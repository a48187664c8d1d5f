"""preview_slots: what the CLI and the REST facade show, from the operator's own engine."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from almanac.core import InvalidInputError, format_instant, parse_spec, preview_slots
from almanac.core.zones import load_zone
from tests.unit.core.anchors import TOP_OF_HOUR, compiled


def test_preview_returns_instants_in_the_schedule_zone() -> None:
    spec = parse_spec(
        {"template": "x", "schedule": {"cron": "0 1 * * *", "timeZone": "Europe/London"}}
    )
    got = preview_slots(spec, datetime(2026, 3, 28, tzinfo=UTC), 2)
    assert [format_instant(s) for s in got] == [
        "2026-03-28T01:00:00+00:00",
        "2026-03-29T02:00:00+01:00",
    ]


def test_preview_stops_when_the_schedule_ends() -> None:
    assert (
        len(
            preview_slots(compiled(at=TOP_OF_HOUR.isoformat()), datetime(2026, 1, 1, tzinfo=UTC), 5)
        )
        == 1
    )


@pytest.mark.parametrize("count", [0, 1001])
def test_preview_count_is_bounded(count: int) -> None:
    with pytest.raises(InvalidInputError, match="count"):
        preview_slots(compiled(every="1h"), TOP_OF_HOUR, count)


def test_preview_of_trigger_only_job_says_what_to_add() -> None:
    spec = parse_spec({"template": "x", "triggers": [{"kafka": {"topic": "t"}}]})
    with pytest.raises(InvalidInputError, match=r"add spec\.schedule"):
        preview_slots(spec, TOP_OF_HOUR, 1)


def test_format_instant_uses_z_for_utc_only() -> None:
    assert format_instant(TOP_OF_HOUR) == "2026-06-15T10:00:00Z"
    london = TOP_OF_HOUR.astimezone(load_zone("Europe/London"))
    assert format_instant(london) == "2026-06-15T11:00:00+01:00"
