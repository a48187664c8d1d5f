"""Slots of a schedule in real time: cron across DST (cronie's rule), every, at, bounds."""

from __future__ import annotations

from datetime import timedelta

import pytest

from tests.unit.core.anchors import TOP_OF_HOUR, compiled, utc


def local_slots(
    cron: str | list[str], tz: str, after: str, until: str, limit: int = 100
) -> list[str]:
    schedule = compiled(cron=cron, timeZone=tz)
    slots = schedule.slots_between(utc(after), utc(until), limit)
    return [slot.astimezone(schedule.zone).isoformat() for slot in slots]


# -- wall-clock lines (fixed minute and hour) --------------------------------------------


@pytest.mark.parametrize(
    ("cron", "tz", "after", "until", "expected"),
    [
        pytest.param(
            "30 2 * * *",
            "Europe/Berlin",
            "2026-03-28T12:00:00Z",
            "2026-03-30T12:00:00Z",
            ["2026-03-29T03:00:00+02:00", "2026-03-30T02:30:00+02:00"],
            id="berlin-spring-gap-runs-at-gap-end",
        ),
        pytest.param(
            "30 2 * * *",
            "Europe/Berlin",
            "2026-10-24T12:00:00Z",
            "2026-10-26T12:00:00Z",
            ["2026-10-25T02:30:00+02:00", "2026-10-26T02:30:00+01:00"],
            id="berlin-fall-overlap-runs-first-occurrence-only",
        ),
        pytest.param(
            "0 2,3 * * *",
            "Europe/Berlin",
            "2026-03-28T12:00:00Z",
            "2026-03-29T12:00:00Z",
            ["2026-03-29T03:00:00+02:00"],
            id="berlin-gap-slot-merges-with-next-hour",
        ),
        pytest.param(
            "30 2 * * *",
            "America/New_York",
            "2026-03-07T12:00:00Z",
            "2026-03-09T12:00:00Z",
            ["2026-03-08T03:00:00-04:00", "2026-03-09T02:30:00-04:00"],
            id="new-york-spring-gap",
        ),
        pytest.param(
            "30 1 * * *",
            "America/New_York",
            "2026-10-31T12:00:00Z",
            "2026-11-02T12:00:00Z",
            ["2026-11-01T01:30:00-04:00", "2026-11-02T01:30:00-05:00"],
            id="new-york-fall-overlap-first-occurrence",
        ),
        pytest.param(
            "15 2 * * *",
            "Australia/Lord_Howe",
            "2026-10-02T12:00:00Z",
            "2026-10-05T00:00:00Z",
            [
                "2026-10-03T02:15:00+10:30",
                "2026-10-04T02:30:00+11:00",
                "2026-10-05T02:15:00+11:00",
            ],
            id="lord-howe-half-hour-gap",
        ),
        pytest.param(
            "45 1 * * *",
            "Australia/Lord_Howe",
            "2026-04-03T12:00:00Z",
            "2026-04-06T00:00:00Z",
            [
                "2026-04-04T01:45:00+11:00",
                "2026-04-05T01:45:00+11:00",
                "2026-04-06T01:45:00+10:30",
            ],
            id="lord-howe-half-hour-overlap-first-occurrence",
        ),
        pytest.param(
            "30 2 * * *",
            "Asia/Tokyo",
            "2026-03-28T12:00:00Z",
            "2026-03-30T12:00:00Z",
            ["2026-03-29T02:30:00+09:00", "2026-03-30T02:30:00+09:00"],
            id="tokyo-no-dst",
        ),
        pytest.param(
            "*/20 30 2 * * *",
            "Europe/Berlin",
            "2026-03-28T12:00:00Z",
            "2026-03-29T12:00:00Z",
            ["2026-03-29T03:00:00+02:00"],
            id="six-field-wall-clock-gap-collapses-to-one",
        ),
    ],
)
def test_wall_clock_lines_run_once_per_local_time(
    cron: str, tz: str, after: str, until: str, expected: list[str]
) -> None:
    assert local_slots(cron, tz, after, until) == expected


# -- elapsed lines (anything else) -------------------------------------------------------


def test_elapsed_line_runs_every_real_quarter_hour_through_fall_back() -> None:
    slots = local_slots(
        "*/15 * * * *", "Europe/Berlin", "2026-10-25T01:50:00+02:00", "2026-10-25T03:00:00+01:00"
    )
    assert slots == [
        "2026-10-25T02:00:00+02:00",
        "2026-10-25T02:15:00+02:00",
        "2026-10-25T02:30:00+02:00",
        "2026-10-25T02:45:00+02:00",
        "2026-10-25T02:00:00+01:00",
        "2026-10-25T02:15:00+01:00",
        "2026-10-25T02:30:00+01:00",
        "2026-10-25T02:45:00+01:00",
        "2026-10-25T03:00:00+01:00",
    ]
    gaps = {b - a for a, b in zip(map(utc, slots), map(utc, slots[1:]), strict=False)}
    assert gaps == {timedelta(minutes=15)}


def test_elapsed_line_skips_local_times_inside_spring_gap() -> None:
    slots = local_slots(
        "*/30 * * * *", "Europe/Berlin", "2026-03-29T01:00:00+01:00", "2026-03-29T03:30:00+02:00"
    )
    assert slots == [
        "2026-03-29T01:30:00+01:00",
        "2026-03-29T03:00:00+02:00",
        "2026-03-29T03:30:00+02:00",
    ]


def test_hourly_runs_twice_in_repeated_hour_new_york() -> None:
    slots = local_slots(
        "@hourly", "America/New_York", "2026-11-01T00:30:00-04:00", "2026-11-01T02:30:00-05:00"
    )
    assert slots == [
        "2026-11-01T01:00:00-04:00",
        "2026-11-01T01:00:00-05:00",
        "2026-11-01T02:00:00-05:00",
    ]


def test_elapsed_line_lord_howe_half_hour_overlap_runs_both_passes() -> None:
    slots = local_slots(
        "*/30 * * * *",
        "Australia/Lord_Howe",
        "2026-04-05T01:00:00+11:00",
        "2026-04-05T02:00:00+10:30",
    )
    assert slots == [
        "2026-04-05T01:30:00+11:00",
        "2026-04-05T01:30:00+10:30",
        "2026-04-05T02:00:00+10:30",
    ]


# -- several lines, seconds, day rules ---------------------------------------------------


def test_several_cron_lines_merge_and_deduplicate() -> None:
    slots = local_slots(
        ["0 12 * * *", "0 */6 * * *", "0 12 * * MON"],
        "UTC",
        "2026-06-15T00:00:00Z",
        "2026-06-15T23:59:59Z",
    )
    assert slots == [
        "2026-06-15T06:00:00+00:00",
        "2026-06-15T12:00:00+00:00",
        "2026-06-15T18:00:00+00:00",
    ]


def test_six_field_line_fires_on_seconds() -> None:
    schedule = compiled(cron="*/20 * * * * *")
    assert schedule.slots_between(TOP_OF_HOUR, TOP_OF_HOUR + timedelta(minutes=1), 10) == [
        TOP_OF_HOUR + timedelta(seconds=s) for s in (20, 40, 60)
    ]


def test_friday_thirteenth_or_rule_in_tokyo() -> None:
    slots = local_slots(
        "0 9 13 * FRI", "Asia/Tokyo", "2026-02-01T00:00:00Z", "2026-02-16T00:00:00Z"
    )
    assert slots == [
        "2026-02-06T09:00:00+09:00",
        "2026-02-13T09:00:00+09:00",
    ]


def test_leap_day_line_waits_for_next_leap_year() -> None:
    assert compiled(cron="0 0 29 2 *").next_after(utc("2026-03-01T00:00:00Z")) == utc(
        "2028-02-29T00:00:00Z"
    )


# -- every and at ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("every", "phase", "after", "expected"),
    [
        pytest.param("90s", None, "2026-06-15T10:00:00Z", "2026-06-15T10:01:30Z", id="epoch-grid"),
        pytest.param("1h", "15m", "2026-06-15T10:20:00Z", "2026-06-15T11:15:00Z", id="phase"),
        pytest.param("1d", "1h", "2026-06-15T00:30:00Z", "2026-06-15T01:00:00Z", id="daily-phase"),
        pytest.param("1h", "75m", "2026-06-15T10:20:00Z", "2026-06-15T11:15:00Z", id="phase-mod"),
        pytest.param("1s", None, "2026-06-15T10:00:00.5+00:00", "2026-06-15T10:00:01Z", id="1s"),
    ],
)
def test_every_slots_sit_on_the_epoch_grid(
    every: str, phase: str | None, after: str, expected: str
) -> None:
    schedule = compiled(every=every, **({"phase": phase} if phase else {}))
    assert schedule.next_after(utc(after)) == utc(expected)


def test_every_ignores_dst_it_is_real_time() -> None:
    schedule = compiled(every="1h", timeZone="Europe/Berlin")
    slots = schedule.slots_between(utc("2026-10-25T00:00:00Z"), utc("2026-10-25T03:00:00Z"), 10)
    assert slots == [utc(f"2026-10-25T0{h}:00:00Z") for h in (1, 2, 3)]


def test_at_is_one_slot() -> None:
    schedule = compiled(at="2026-12-01T10:00:00+01:00")
    assert schedule.next_after(utc("2026-11-01T00:00:00Z")) == utc("2026-12-01T09:00:00Z")
    assert schedule.next_after(utc("2026-12-01T09:00:00Z")) is None


# -- bounds ----------------------------------------------------------------------------


def test_start_time_is_inclusive_and_end_time_inclusive() -> None:
    schedule = compiled(
        cron="0 * * * *", startTime="2026-06-15T10:00:00Z", endTime="2026-06-15T12:00:00Z"
    )
    slots = schedule.slots_between(utc("2026-06-15T00:00:00Z"), utc("2026-06-16T00:00:00Z"), 10)
    assert slots == [utc(f"2026-06-15T{h}:00:00Z") for h in (10, 11, 12)]


def test_count_between_every_is_arithmetic_over_years() -> None:
    schedule = compiled(every="1s")
    got = schedule.count_between(utc("2020-01-01T00:00:00Z"), utc("2026-01-01T00:00:00Z"))
    assert got.exact
    assert got.count == int(
        (utc("2026-01-01T00:00:00Z") - utc("2020-01-01T00:00:00Z")).total_seconds()
    )


def test_count_between_cron_extrapolates_past_cap() -> None:
    schedule = compiled(cron="* * * * * *")
    got = schedule.count_between(TOP_OF_HOUR, TOP_OF_HOUR + timedelta(days=1), limit=1000)
    assert not got.exact
    assert got.count == pytest.approx(86_400, rel=0.01)


def test_newest_between_finds_last_slots_without_walking_the_window() -> None:
    schedule = compiled(cron="* * * * * *")
    got = schedule.newest_between(TOP_OF_HOUR - timedelta(days=30), TOP_OF_HOUR, 3)
    assert got == [TOP_OF_HOUR - timedelta(seconds=s) for s in (2, 1, 0)]
