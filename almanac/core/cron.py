"""Cron lines: parsing and matching on local (naive) calendar times.

This module knows nothing about time zones: it answers "which wall-clock times match this
line". Mapping wall-clock times to real instants across DST changes is
:mod:`almanac.core.zones`' job, so the two concerns can be tested separately.

Accepted syntax (robfig/cron ``WithSeconds`` semantics, which contracts.md pins):

* 5 fields ``minute hour day-of-month month day-of-week`` or 6 with ``second`` first;
* ``*``, ``?`` (same as ``*``), ``a``, ``a-b``, ``*/n``, ``a/n`` (= ``a-max/n``), ``a-b/n``,
  comma lists; month names ``JAN``-``DEC`` and weekday names ``SUN``-``SAT``
  (case-insensitive); weekday 0 and 7 are both Sunday;
* macros ``@yearly @annually @monthly @weekly @daily @midnight @hourly``;
* day-of-month / day-of-week: when both are restricted a day matching either runs; when one
  is ``*``/``?`` (without a step) only the other one counts.

A line is *wall-clock* (cronie's DST rule) when its minute and hour fields both do not start
with ``*`` or ``?``; the seconds field does not take part in that decision.
"""

from __future__ import annotations

import bisect
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Final

from almanac.core.errors import InvalidCronError, ScheduleNeverFiresError

__all__ = ["MACROS", "SEARCH_YEARS", "CronLine", "parse_cron"]

#: How far :meth:`CronLine.next_match` looks before giving up. Feb 29 recurs at most every
#: 8 years (2096 → 2104), so 9 years finds every possible line.
SEARCH_YEARS: Final = 9

#: The ``@`` shorthands and the cron lines they stand for.
MACROS: Final = {
    "@yearly": "0 0 1 1 *",
    "@annually": "0 0 1 1 *",
    "@monthly": "0 0 1 * *",
    "@weekly": "0 0 * * 0",
    "@daily": "0 0 * * *",
    "@midnight": "0 0 * * *",
    "@hourly": "0 * * * *",
}
_MONTHS: Final = {
    name: i + 1
    for i, name in enumerate(
        ["JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC"]
    )
}
_WEEKDAYS: Final = {
    name: i for i, name in enumerate(["SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT"])
}
# (name, low, high, names) per field, seconds first.
_FIELDS: Final[tuple[tuple[str, int, int, dict[str, int]], ...]] = (
    ("second", 0, 59, {}),
    ("minute", 0, 59, {}),
    ("hour", 0, 23, {}),
    ("day-of-month", 1, 31, {}),
    ("month", 1, 12, _MONTHS),
    ("day-of-week", 0, 7, _WEEKDAYS),
)
_MONTH_DAYS: Final = (31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31)  # Feb 29 can exist
_SECOND: Final = timedelta(seconds=1)


@dataclass(frozen=True)
class CronLine:
    """One parsed cron line.

    Attributes
    ----------
    text
        The line as written (macros kept), for messages and summaries.
    seconds, minutes, hours, days, months, weekdays
        Sorted allowed values; weekdays use 0 = Sunday (7 folded into 0).
    days_star, weekdays_star
        Whether day-of-month / day-of-week were ``*`` or ``?``, for the OR rule.
    wall_clock
        Whether DST handling is wall-clock (fixed minute and hour) or elapsed.
    """

    text: str
    seconds: tuple[int, ...]
    minutes: tuple[int, ...]
    hours: tuple[int, ...]
    days: tuple[int, ...]
    months: tuple[int, ...]
    weekdays: tuple[int, ...]
    days_star: bool
    weekdays_star: bool
    wall_clock: bool

    def matches(self, local: datetime) -> bool:
        """Whether the wall-clock time ``local`` (naive or aware, its own fields) matches."""
        return (
            local.microsecond == 0
            and local.second in self.seconds
            and local.minute in self.minutes
            and local.hour in self.hours
            and local.month in self.months
            and self.day_matches(local.date())
        )

    def day_matches(self, day: date) -> bool:
        """Apply the day-of-month / day-of-week rule (AND if either is a star, else OR)."""
        dom = day.day in self.days
        dow = (day.weekday() + 1) % 7 in self.weekdays
        if self.days_star or self.weekdays_star:
            return dom and dow
        return dom or dow

    def next_match(self, start: datetime, *, inclusive: bool) -> datetime | None:
        """Return the first naive wall-clock time matching the line at/after ``start``.

        The search jumps field by field (month, day, hour, minute, second), so it costs a
        few hundred steps per year searched, and stops after :data:`SEARCH_YEARS` years:
        ``None`` then means the line does not fire in that horizon.
        """
        t = start.replace(microsecond=0, tzinfo=None)
        if start.microsecond or not inclusive:
            t += _SECOND
        limit = t.year + SEARCH_YEARS
        try:
            while t.year <= limit:
                if t.month not in self.months:
                    t = _next_month(t, self.months)
                elif not self.day_matches(t.date()):
                    t = datetime(t.year, t.month, t.day) + timedelta(days=1)
                elif t.hour not in self.hours:
                    t = _advance(t, self.hours, "hour")
                elif t.minute not in self.minutes:
                    t = _advance(t, self.minutes, "minute")
                elif t.second not in self.seconds:
                    t = _advance(t, self.seconds, "second")
                else:
                    return t
        except (OverflowError, ValueError):  # past year 9999
            return None
        return None


def _next_month(t: datetime, allowed: tuple[int, ...]) -> datetime:
    i = bisect.bisect_left(allowed, t.month)
    if i < len(allowed):
        return datetime(t.year, allowed[i], 1)
    return datetime(t.year + 1, allowed[0], 1)


def _advance(t: datetime, allowed: tuple[int, ...], unit: str) -> datetime:
    """Move to the next allowed value of ``unit``, or to the start of the enclosing unit."""
    value = getattr(t, unit)
    i = bisect.bisect_left(allowed, value)
    if unit == "hour":
        if i < len(allowed):
            return t.replace(hour=allowed[i], minute=0, second=0)
        return datetime(t.year, t.month, t.day) + timedelta(days=1)
    if unit == "minute":
        if i < len(allowed):
            return t.replace(minute=allowed[i], second=0)
        return t.replace(minute=0, second=0) + timedelta(hours=1)
    if i < len(allowed):
        return t.replace(second=allowed[i])
    return t.replace(second=0) + timedelta(minutes=1)


#: Lines parsed before (a CronLine is immutable): ten thousand ScheduledJobs share a few
#: dozen lines, and every facade write and admission review parses its line again.
_PARSED: dict[str, CronLine] = {}
_PARSED_MAX: Final = 4096


def parse_cron(text: str, field: str = "") -> CronLine:
    """Parse one cron line (refusals are not remembered: each names its own ``field``).

    Parameters
    ----------
    text
        5- or 6-field line or a macro.
    field
        Field path for errors (``spec.schedule.cron[1]``).

    Raises
    ------
    InvalidCronError
        Wrong field count, bad token, out-of-range value, unknown macro.
    ScheduleNeverFiresError
        The line parses but no calendar date can match (``0 0 30 2 *``).
    """
    if not isinstance(text, str):
        raise InvalidCronError(f"expected a cron string, got {text!r}", field)
    known = _PARSED.get(text)
    if known is not None:
        return known
    line = _parse(text, field)
    if len(_PARSED) >= _PARSED_MAX:
        _PARSED.clear()
    _PARSED[text] = line
    return line


def _parse(text: str, field: str) -> CronLine:
    stripped = " ".join(text.split())
    if stripped.startswith("@"):
        macro = stripped.lower()
        if macro.startswith("@every"):
            raise InvalidCronError(
                f"{text!r}: '@every' is not a cron macro here; use schedule.every instead", field
            )
        if macro not in MACROS:
            raise InvalidCronError(
                f"unknown macro {text!r}; use one of {', '.join(sorted(MACROS))}", field
            )
        stripped = MACROS[macro]
    if "=" in stripped.split(" ")[0]:
        raise InvalidCronError(
            f"{text!r}: time-zone prefixes are not supported; set schedule.timeZone", field
        )
    parts = stripped.split(" ") if stripped else []
    if len(parts) == 5:
        parts = ["0", *parts]
    elif len(parts) != 6:
        raise InvalidCronError(
            f"{text!r} has {len(parts)} fields; write 5 (minute hour day-of-month month "
            "day-of-week) or 6 (second first), or a macro such as @daily",
            field,
        )
    values: list[tuple[int, ...]] = []
    stars: list[bool] = []
    for token, spec in zip(parts, _FIELDS, strict=True):
        allowed, star = _parse_field(token, spec, text, field)
        values.append(allowed)
        stars.append(star)
    weekdays = tuple(sorted({0 if v == 7 else v for v in values[5]}))
    line = CronLine(
        text=" ".join(text.split()),
        seconds=values[0],
        minutes=values[1],
        hours=values[2],
        days=values[3],
        months=values[4],
        weekdays=weekdays,
        days_star=stars[3],
        weekdays_star=stars[5],
        wall_clock=not parts[1].startswith(("*", "?")) and not parts[2].startswith(("*", "?")),
    )
    _check_can_fire(line, field)
    return line


def _parse_field(
    token: str, spec: tuple[str, int, int, dict[str, int]], line: str, field: str
) -> tuple[tuple[int, ...], bool]:
    name, low, high, _ = spec
    allowed: set[int] = set()
    star = False
    for part in token.split(","):
        range_part, slash, step_text = part.partition("/")
        step = 1
        if slash:
            if not step_text.isdigit() or int(step_text) == 0:
                raise InvalidCronError(
                    f"{line!r}: {name} step {step_text!r} must be a positive integer", field
                )
            step = int(step_text)
        if range_part in ("*", "?"):
            start, end = low, high
            star = star or step == 1
        else:
            start_text, dash, end_text = range_part.partition("-")
            start = _value(start_text, spec, line, field)
            # ``a/n`` means ``a-max/n`` (robfig/cron).
            end = _value(end_text, spec, line, field) if dash else (high if slash else start)
            if end < start:
                raise InvalidCronError(
                    f"{line!r}: {name} range {range_part!r} runs backwards; write low-high",
                    field,
                )
        allowed.update(range(start, end + 1, step))
    if name == "day-of-week" and star:
        allowed.discard(7)
    return tuple(sorted(allowed)), star


def _value(text: str, spec: tuple[str, int, int, dict[str, int]], line: str, field: str) -> int:
    name, low, high, names = spec
    if text.upper() in names:
        return names[text.upper()]
    if not text.isdigit():
        hint = f" or a name ({', '.join(names)})" if names else ""
        raise InvalidCronError(f"{line!r}: {name} value {text!r} is not a number{hint}", field)
    value = int(text)
    if not low <= value <= high:
        raise InvalidCronError(
            f"{line!r}: {name} value {value} is out of range {low}-{high}", field
        )
    return value


def _check_can_fire(line: CronLine, field: str) -> None:
    """Refuse lines that can never match, without searching the calendar.

    Every month contains every weekday, so only a day-of-month restriction combined with
    an unrestricted day-of-week (AND rule) can be impossible: it is possible exactly when
    some listed day exists in some listed month (Feb 29 counts: leap years exist).
    """
    if not line.weekdays_star or line.days_star:
        return
    if any(day <= _MONTH_DAYS[month - 1] for month in line.months for day in line.days):
        return
    raise ScheduleNeverFiresError(
        f"{line.text!r} never fires: no listed month has any of the listed days; "
        "fix the day-of-month or month field",
        field,
    )
