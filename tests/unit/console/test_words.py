"""Schedules in words, as the jobs list shows them: one named case per shape."""

from __future__ import annotations

import pytest

from almanac.console.words import describe_schedule

CASES = {
    "a fixed time every day": ("30 2 * * *", "Europe/Berlin", "at 02:30 Europe/Berlin every day"),
    "a macro": ("@daily", "UTC", "at 00:00 UTC every day"),
    "weekdays": ("0 9 * * MON-FRI", "UTC", "at 09:00 UTC on weekdays"),
    "weekends by number": ("0 9 * * 0,6", "UTC", "at 09:00 UTC on weekends"),
    "two named days": ("5 4 * * 1,3", "UTC", "at 04:05 UTC on Monday and Wednesday"),
    "Sunday written as 7": ("0 0 * * 7", "UTC", "at 00:00 UTC on Sunday"),
    "a day of the month": ("0 3 1 * *", "UTC", "at 03:00 UTC on day 1 of the month"),
    "a day of one month": ("0 0 1 1 *", "UTC", "at 00:00 UTC on day 1 of the month in January"),
    "two times a day": ("0 8,20 * * *", "UTC", "at 08:00 and 20:00 UTC every day"),
    "every n minutes": ("*/15 * * * *", "UTC", "every 15 minutes every day"),
    "every hour at a minute": ("7 * * * *", "UTC", "every hour at minute 7 every day"),
    "every n hours": ("0 */6 * * *", "UTC", "every 6 hours every day"),
    "every minute": ("* * * * *", "UTC", "every minute every day"),
    "six fields with seconds at zero": ("0 30 2 * * *", "UTC", "at 02:30 UTC every day"),
    "seconds not zero: no words": ("15 30 2 * * *", "UTC", "cron 15 30 2 * * * (UTC)"),
    "day and weekday both set: no words": ("0 0 1 * 1", "UTC", "cron 0 0 1 * 1 (UTC)"),
    "a range of minutes: no words": ("0-30/5 9 * * *", "UTC", "cron 0-30/5 9 * * * (UTC)"),
    "extra spaces are folded": ("30  2 *  * *", "UTC", "at 02:30 UTC every day"),
    "an interval": ("@every 90s", "UTC", "every 90s"),
    "one instant": ("@at 2026-05-01T09:00:00+02:00", "UTC", "once, at 2026-05-01T09:00:00+02:00"),
}


@pytest.mark.parametrize(("schedule", "zone", "words"), CASES.values(), ids=CASES.keys())
def test_schedule_in_words(schedule: str, zone: str, words: str) -> None:
    assert describe_schedule(schedule, zone) == words


def test_a_list_of_lines_reads_line_by_line() -> None:
    got = describe_schedule(["0 3 1 * *", "0 0 * * 0"], "UTC")
    assert got == "at 03:00 UTC on day 1 of the month; at 00:00 UTC on Sunday"


def test_an_event_only_job_says_so() -> None:
    assert describe_schedule(None, "UTC") == "on events only"
