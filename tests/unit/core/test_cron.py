"""Cron syntax: fields, names, macros, seconds, the day OR rule, errors, classification."""

from __future__ import annotations

from datetime import datetime

import pytest

from almanac.core import InvalidCronError, ScheduleNeverFiresError, parse_cron


@pytest.mark.parametrize(
    ("text", "field", "expected"),
    [
        pytest.param("0 9 * * MON-FRI", "weekdays", (1, 2, 3, 4, 5), id="weekday-names"),
        pytest.param("0 9 * * mon,wed", "weekdays", (1, 3), id="lower-case-names"),
        pytest.param("0 0 1 JAN,jul *", "months", (1, 7), id="month-names"),
        pytest.param("0 0 * * 7", "weekdays", (0,), id="seven-is-sunday"),
        pytest.param("0 0 * * 5-7", "weekdays", (0, 5, 6), id="range-to-seven"),
        pytest.param("*/20 * * * *", "minutes", (0, 20, 40), id="star-step"),
        pytest.param("10/20 * * * *", "minutes", (10, 30, 50), id="start-step-means-to-max"),
        pytest.param("0-10/5 * * * *", "minutes", (0, 5, 10), id="range-step"),
        pytest.param("0 0 ? * *", "days", tuple(range(1, 32)), id="question-mark-is-star"),
        pytest.param("15 */6 * * * *", "seconds", (15,), id="six-fields-seconds-first"),
        pytest.param("15 */6 * * * *", "minutes", tuple(range(0, 60, 6)), id="six-fields-minutes"),
        pytest.param("30 2 * * *", "seconds", (0,), id="five-fields-second-zero"),
    ],
)
def test_parse_cron_field_values(text: str, field: str, expected: tuple[int, ...]) -> None:
    assert getattr(parse_cron(text), field) == expected


@pytest.mark.parametrize(
    ("macro", "equivalent"),
    [
        ("@yearly", "0 0 1 1 *"),
        ("@annually", "0 0 1 1 *"),
        ("@monthly", "0 0 1 * *"),
        ("@weekly", "0 0 * * 0"),
        ("@daily", "0 0 * * *"),
        ("@midnight", "0 0 * * *"),
        ("@hourly", "0 * * * *"),
        ("@DAILY", "0 0 * * *"),
    ],
)
def test_macros_expand_to_their_lines(macro: str, equivalent: str) -> None:
    got, want = parse_cron(macro), parse_cron(equivalent)
    assert (got.minutes, got.hours, got.days, got.months, got.weekdays) == (
        want.minutes,
        want.hours,
        want.days,
        want.months,
        want.weekdays,
    )
    assert got.wall_clock == want.wall_clock


@pytest.mark.parametrize(
    ("text", "message"),
    [
        pytest.param("* * * *", "has 4 fields", id="too-few-fields"),
        pytest.param("* * * * * * *", "has 7 fields", id="too-many-fields"),
        pytest.param("60 * * * *", "out of range 0-59", id="minute-60"),
        pytest.param("0 24 * * *", "out of range 0-23", id="hour-24"),
        pytest.param("0 0 0 * *", "out of range 1-31", id="day-0"),
        pytest.param("0 0 32 * *", "out of range 1-31", id="day-32"),
        pytest.param("0 0 * 13 *", "out of range 1-12", id="month-13"),
        pytest.param("0 0 * * 8", "out of range 0-7", id="weekday-8"),
        pytest.param("0 0 * * FUNDAY", "not a number or a name", id="unknown-name"),
        pytest.param("*/0 * * * *", "step '0'", id="zero-step"),
        pytest.param("10-5 * * * *", "runs backwards", id="backwards-range"),
        pytest.param("@fortnightly", "unknown macro", id="unknown-macro"),
        pytest.param("@every 5m", "use schedule.every", id="robfig-every"),
        pytest.param("CRON_TZ=UTC 0 0 * * *", "set schedule.timeZone", id="tz-prefix"),
        pytest.param("", "has 0 fields", id="empty"),
        pytest.param("a b c d e", "not a number", id="letters"),
    ],
)
def test_parse_cron_refuses_bad_lines_with_fix(text: str, message: str) -> None:
    with pytest.raises(InvalidCronError, match=message) as caught:
        parse_cron(text, "spec.schedule.cron[1]")
    assert caught.value.field == "spec.schedule.cron[1]"
    assert caught.value.code == "invalid_cron"


@pytest.mark.parametrize(
    "text",
    [
        pytest.param("0 0 30 2 *", id="feb-30"),
        pytest.param("0 0 31 4,6,9,11 *", id="31st-of-30-day-months"),
        pytest.param("0 0 30,31 FEB *", id="feb-30-31"),
    ],
)
def test_parse_cron_refuses_lines_that_never_fire(text: str) -> None:
    with pytest.raises(ScheduleNeverFiresError, match="never fires") as caught:
        parse_cron(text, "spec.schedule.cron")
    assert caught.value.code == "schedule_never_fires"


@pytest.mark.parametrize(
    "text",
    [
        pytest.param("0 0 29 2 *", id="feb-29-leap-years"),
        pytest.param("0 0 30 2 MON", id="feb-30-or-monday"),
    ],
)
def test_parse_cron_accepts_rare_but_possible_lines(text: str) -> None:
    assert parse_cron(text).next_match(datetime(2026, 1, 1), inclusive=True) is not None


@pytest.mark.parametrize(
    ("text", "day", "matches"),
    [
        pytest.param("0 0 13 * FRI", datetime(2026, 2, 13), True, id="both-restricted-both"),
        pytest.param("0 0 13 * FRI", datetime(2026, 1, 13), True, id="both-restricted-dom"),
        pytest.param("0 0 13 * FRI", datetime(2026, 1, 2), True, id="both-restricted-dow"),
        pytest.param("0 0 13 * FRI", datetime(2026, 1, 14), False, id="both-restricted-none"),
        pytest.param("0 0 13 * *", datetime(2026, 1, 2), False, id="dow-star-only-dom"),
        pytest.param("0 0 * * FRI", datetime(2026, 1, 13), False, id="dom-star-only-dow"),
        pytest.param("0 0 ? * FRI", datetime(2026, 1, 2), True, id="dom-question-only-dow"),
        pytest.param("0 0 */2 * FRI", datetime(2026, 1, 2), True, id="dom-step-is-restricted"),
    ],
)
def test_day_of_month_day_of_week_or_rule(text: str, day: datetime, matches: bool) -> None:
    assert parse_cron(text).matches(day) is matches


@pytest.mark.parametrize(
    ("text", "wall_clock"),
    [
        pytest.param("30 2 * * *", True, id="fixed-minute-and-hour"),
        pytest.param("0 2,14 * * *", True, id="hour-list"),
        pytest.param("0-59 2 * * *", True, id="minute-range-not-star"),
        pytest.param("@daily", True, id="daily-macro"),
        pytest.param("*/10 30 2 * * *", True, id="seconds-do-not-count"),
        pytest.param("*/15 * * * *", False, id="minute-step"),
        pytest.param("0 * * * *", False, id="hour-star"),
        pytest.param("0 */2 * * *", False, id="hour-step"),
        pytest.param("@hourly", False, id="hourly-macro"),
        pytest.param("30 ? * * *", False, id="hour-question-mark"),
    ],
)
def test_wall_clock_classification_follows_cronie(text: str, wall_clock: bool) -> None:
    assert parse_cron(text).wall_clock is wall_clock


@pytest.mark.parametrize(
    ("text", "start", "expected"),
    [
        pytest.param(
            "30 2 * * *", datetime(2026, 1, 1, 2, 30), datetime(2026, 1, 2, 2, 30), id="exclusive"
        ),
        pytest.param("0 0 29 2 *", datetime(2026, 1, 1), datetime(2028, 2, 29), id="next-leap-day"),
        pytest.param("0 0 29 2 *", datetime(2096, 3, 1), datetime(2104, 2, 29), id="skips-2100"),
        pytest.param(
            "*/20 * * * * *",
            datetime(2026, 1, 1, 23, 59, 50),
            datetime(2026, 1, 2, 0, 0, 0),
            id="seconds-roll-over-day",
        ),
        pytest.param(
            "0 0 31 * *", datetime(2026, 4, 1), datetime(2026, 5, 31), id="skips-short-months"
        ),
    ],
)
def test_next_match_finds_next_local_time(text: str, start: datetime, expected: datetime) -> None:
    assert parse_cron(text).next_match(start, inclusive=False) == expected


def test_next_match_gives_up_beyond_search_horizon() -> None:
    assert parse_cron("0 0 29 2 *").next_match(datetime(9996, 3, 1), inclusive=True) is None


def test_a_line_parsed_before_is_the_same_object_and_a_refusal_names_each_callers_field() -> None:
    assert parse_cron("17 3 * * 1-5") is parse_cron("17 3 * * 1-5")
    for field in ("spec.schedule.cron", "spec.schedule.cron[2]"):
        with pytest.raises(InvalidCronError) as refused:
            parse_cron("61 * * * *", field)
        assert refused.value.field == field
