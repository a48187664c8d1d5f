"""A schedule in words for the console's job list: ``at 02:30 Europe/Berlin every day``. Pure.

People scanning a list of jobs read "at 02:30 every day" faster than ``30 2 * * *``; the
cron line stays one click away on the job's page. Only the common shapes are put into
words (fixed times, steps of minutes or hours, weekdays, days of the month); anything
else is shown as the cron line itself with its zone, never as a guess.
"""

from __future__ import annotations

from typing import Final

from almanac.core.cron import MACROS

__all__ = ["describe_cron", "describe_schedule"]

_DAYS: Final = ("Sunday", "Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday")
_DAY_NAMES: Final = {name[:3].upper(): i for i, name in enumerate(_DAYS)}
_MONTHS: Final = (
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
)
_MONTH_NAMES: Final = {name[:3].upper(): i + 1 for i, name in enumerate(_MONTHS)}
_STAR: Final = ("*", "?")


def _number(text: str, names: dict[str, int] | None = None) -> int | None:
    if text.isdigit():
        return int(text)
    return (names or {}).get(text.upper())


def _values(field: str, names: dict[str, int] | None = None) -> list[int] | None:
    """The values of a comma list of numbers and ``a-b`` ranges; None for steps or stars."""
    found: list[int] = []
    for part in field.split(","):
        low_text, _, high_text = part.partition("-")
        low = _number(low_text, names)
        high = _number(high_text, names) if high_text else low
        if low is None or high is None or high < low:
            return None
        found.extend(range(low, high + 1))
    return found


def _step(field: str) -> int | None:
    """``n`` of ``*/n`` (a step over the whole range), else None."""
    base, _, step = field.partition("/")
    return int(step) if base in _STAR and step.isdigit() and int(step) > 0 else None


def _join(words: list[str]) -> str:
    return words[0] if len(words) == 1 else ", ".join(words[:-1]) + " and " + words[-1]


def _weekdays(field: str) -> str | None:
    values = _values(field, _DAY_NAMES)
    if values is None:
        return None
    days = sorted({v % 7 for v in values})
    if days == [1, 2, 3, 4, 5]:
        return "on weekdays"
    if days == [0, 6]:
        return "on weekends"
    return "on " + _join([_DAYS[d] for d in days])


def _day_part(day: str, month: str, weekday: str) -> str | None:
    """ "every day", "on Monday", "on day 1 of the month", "in January"...; None: no words."""
    parts: list[str] = []
    if day in _STAR and weekday in _STAR:
        parts.append("every day")
    elif day in _STAR:
        words = _weekdays(weekday)
        if words is None:
            return None
        parts.append(words)
    elif weekday in _STAR:
        days = _values(day)
        if days is None:
            return None
        label = "day" if len(days) == 1 else "days"
        parts.append(f"on {label} {_join([str(d) for d in days])} of the month")
    else:
        return None  # both restricted: cron's OR rule is not something to paraphrase
    if month not in _STAR:
        months = _values(month, _MONTH_NAMES)
        if months is None or any(not 1 <= m <= 12 for m in months):
            return None
        parts.append("in " + _join([_MONTHS[m - 1] for m in months]))
    return " ".join(parts)


def _time_part(second: str, minute: str, hour: str, zone: str) -> str | None:
    if second != "0":
        return None
    minutes, hours = _values(minute), _values(hour)
    if minutes is not None and hours is not None and len(minutes) * len(hours) <= 4:
        times = [f"{h:02d}:{m:02d}" for h in hours for m in minutes]
        return f"at {_join(times)} {zone}"
    if minutes is not None and len(minutes) == 1 and hour in _STAR:
        return f"every hour at minute {minutes[0]}"
    if minute in _STAR and hour in _STAR:
        return "every minute"
    if (step := _step(minute)) is not None and hour in _STAR:
        return f"every {step} minutes"
    if minutes == [0] and (step := _step(hour)) is not None:
        return f"every {step} hours"
    return None


def describe_cron(line: str, zone: str) -> str:
    """One cron line in words, or ``cron <line> (<zone>)`` when it has no simple reading."""
    text = " ".join(line.split())
    fields = MACROS.get(text.lower(), text).split()
    if len(fields) == 5:
        fields = ["0", *fields]
    if len(fields) == 6:
        second, minute, hour, day, month, weekday = fields
        when = _time_part(second, minute, hour, zone)
        days = _day_part(day, month, weekday)
        if when is not None and days is not None:
            return f"{when} {days}"
    return f"cron {text} ({zone})"


def describe_schedule(schedule: str | list[str] | None, zone: str) -> str:
    """The job JSON's ``schedule`` (cron, a list of lines, ``@every``, ``@at``) in words."""
    if schedule is None:
        return "on events only"
    if isinstance(schedule, list):
        return "; ".join(describe_cron(line, zone) for line in schedule)
    if schedule.startswith("@every "):
        return "every " + schedule.removeprefix("@every ").strip()
    if schedule.startswith("@at "):
        return "once, at " + schedule.removeprefix("@at ").strip()
    return describe_cron(schedule, zone)
