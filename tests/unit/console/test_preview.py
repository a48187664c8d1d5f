"""The schedule editor's preview: the engine's slots, with DST changes explained."""

from __future__ import annotations

from datetime import UTC, datetime

from hypothesis import given
from hypothesis import strategies as st

from almanac.console.preview import preview
from almanac.core.preview import format_instant, preview_slots
from almanac.core.resource import parse_schedule

BERLIN = "Europe/Berlin"
#: Europe/Berlin jumps 02:00 → 03:00 on 2026-03-29 and 03:00 → 02:00 on 2026-10-25.
BEFORE_SPRING = datetime(2026, 3, 27, tzinfo=UTC)
BEFORE_AUTUMN = datetime(2026, 10, 23, tzinfo=UTC)


def test_a_time_skipped_in_spring_is_moved_after_the_gap_and_says_why() -> None:
    shown = preview({"cron": "30 2 * * *", "timeZone": BERLIN}, BEFORE_SPRING, 4)
    instants = [row.instant for row in shown.rows]
    assert instants == [
        "2026-03-27T02:30:00+01:00",
        "2026-03-28T02:30:00+01:00",
        "2026-03-29T03:00:00+02:00",
        "2026-03-30T02:30:00+02:00",
    ]
    moved = shown.rows[2].notes
    assert any(n.startswith("DST: the offset changes from +01:00 to +02:00") for n in moved)
    assert any("does not exist on this day" in n and "30 2 * * *" in n for n in moved)
    assert shown.rows[0].notes == ()
    assert shown.rows[3].notes == ()
    assert shown.rules[0].startswith("wall-clock rule for 30 2 * * *")


def test_a_time_repeated_in_autumn_runs_once_under_the_wall_clock_rule() -> None:
    shown = preview({"cron": "30 2 * * *", "timeZone": BERLIN}, BEFORE_AUTUMN, 4)
    autumn = [row for row in shown.rows if row.instant.startswith("2026-10-25")]
    assert len(autumn) == 1
    assert autumn[0].notes == (
        "repeated hour: the wall-clock rule runs it at the first occurrence only",
    )


def test_an_elapsed_line_runs_in_both_passes_of_the_repeated_hour() -> None:
    start = datetime(2026, 10, 25, 0, 10, tzinfo=UTC)  # 02:10 CEST, in the repeated hour
    shown = preview({"cron": "*/30 * * * *", "timeZone": BERLIN}, start, 4)
    assert [r.instant for r in shown.rows] == [
        "2026-10-25T02:30:00+02:00",
        "2026-10-25T02:00:00+01:00",
        "2026-10-25T02:30:00+01:00",
        "2026-10-25T03:00:00+01:00",
    ]
    assert "both passes" in shown.rows[0].notes[0]
    assert shown.rules[0].startswith("elapsed-time rule")


def test_an_interval_is_not_moved_by_dst() -> None:
    shown = preview({"every": "12h", "timeZone": BERLIN}, BEFORE_SPRING, 6)
    assert shown.rules == (
        "fixed interval: slots are a constant real-time step apart; DST does not move them",
    )
    assert [n for r in shown.rows for n in r.notes if not n.startswith("DST: the offset")] == []


def test_a_schedule_the_engine_refuses_names_the_job_field() -> None:
    bad_minute = preview({"cron": "61 2 * * *", "timeZone": "UTC"}, BEFORE_SPRING)
    assert (bad_minute.error_field, bad_minute.rows) == ("schedule", ())
    assert "61" in (bad_minute.error or "")
    bad_zone = preview({"cron": "0 2 * * *", "timeZone": "Europe/Berln"}, BEFORE_SPRING)
    assert bad_zone.error_field == "timezone"


def test_no_schedule_previews_nothing_and_says_why() -> None:
    shown = preview(None, BEFORE_SPRING)
    assert shown.rows == ()
    assert "events" in shown.rules[0]


def test_the_json_the_page_reads() -> None:
    shown = preview({"cron": "0 9 * * *", "timeZone": "UTC"}, BEFORE_SPRING, 1).as_json()
    assert shown == {
        "zone": "UTC",
        "rules": [shown["rules"][0]],
        "slots": [
            {
                "instant": "2026-03-27T09:00:00Z",
                "local": "Fri 2026-03-27 09:00",
                "offset": "+00:00",
                "notes": [],
            }
        ],
        "error": None,
    }


@given(
    hour=st.integers(0, 23),
    minute=st.integers(0, 59),
    zone=st.sampled_from(["Europe/Berlin", "America/New_York", "Australia/Lord_Howe", "UTC"]),
    day=st.integers(0, 364),
)
def test_the_preview_shows_exactly_the_engines_slots(
    hour: int, minute: int, zone: str, day: int
) -> None:
    start = datetime.fromordinal(datetime(2026, 1, 1).toordinal() + day).replace(tzinfo=UTC)
    schedule = {"cron": f"{minute} {hour} * * *", "timeZone": zone}
    engine = [format_instant(s) for s in preview_slots(parse_schedule(schedule), start, 10)]
    assert [row.instant for row in preview(schedule, start).rows] == engine
