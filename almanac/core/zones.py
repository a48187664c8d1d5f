"""Time zones: loading, offset transitions, and cron lines evaluated in real time.

Why this exists: croniter (and most cron libraries) step through local wall-clock times and
convert each one, which runs fixed-time jobs twice or never on DST days. Almanac applies
cronie's rule instead:

* **wall-clock** lines (fixed minute and hour, see :mod:`almanac.core.cron`) run once per
  matching local date-time: a local time skipped by a forward jump runs at the first instant
  after the gap; a local time repeated by a backward jump runs at its first occurrence only.
* **elapsed** lines run at every real instant whose local time matches: in the repeated hour
  they run in both passes, and local times inside a gap simply never happen.

Elapsed lines are evaluated segment by segment: between two offset transitions the zone is
a fixed offset, so local time is a monotone function of real time there.
"""

from __future__ import annotations

import functools
from datetime import UTC, datetime, timedelta, tzinfo
from typing import Final
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from almanac.core.cron import CronLine
from almanac.core.errors import NaiveDatetimeError, UnknownTimeZoneError

__all__ = ["load_zone", "next_cron_instant", "require_aware", "to_local", "transitions_after"]

_DAY: Final = timedelta(days=1)
_MAX_SEGMENTS: Final = 128  # offset transitions crossed by one search (9 years ≈ 20)
_MAX_CANDIDATES: Final = 200_000  # wall-clock candidates scanned before an instant > after


def require_aware(value: datetime, field: str = "") -> datetime:
    """Return ``value`` in UTC, refusing naive datetimes.

    The core reasons about instants; a naive value is ambiguous by construction, so it is
    refused at the boundary rather than guessed.
    """
    if value.tzinfo is None or value.utcoffset() is None:
        raise NaiveDatetimeError(
            f"{value.isoformat()} has no UTC offset; write it in RFC 3339 with Z or +hh:mm",
            field,
        )
    return value.astimezone(UTC)


@functools.lru_cache(maxsize=512)
def load_zone(name: str, field: str = "spec.schedule.timeZone") -> tzinfo:
    """Load an IANA zone by name (``UTC`` maps to :data:`datetime.UTC`).

    Raises
    ------
    UnknownTimeZoneError
        The name is not in the tz database (typos, POSIX strings, relative paths).
    """
    if name in ("UTC", "Etc/UTC"):
        return UTC
    try:
        if not name or name.startswith(("/", ".")) or ".." in name:
            raise ValueError(name)
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, OSError):
        raise UnknownTimeZoneError(
            f"unknown time zone {name!r}; use an IANA name such as Europe/Berlin or UTC", field
        ) from None


def to_local(instant: datetime, zone: tzinfo) -> datetime:
    """Naive wall-clock time of ``instant`` in ``zone``."""
    return instant.astimezone(zone).replace(tzinfo=None)


def _offset(zone: tzinfo, instant: datetime) -> timedelta:
    offset = instant.astimezone(zone).utcoffset()
    return offset if offset is not None else timedelta(0)


@functools.lru_cache(maxsize=4096)
def _year_transitions(zone: tzinfo, year: int) -> tuple[datetime, ...]:
    """Instants in ``year`` (UTC) at which the offset of ``zone`` changes.

    Sampled daily and bisected to the second; a change that reverts within one day would be
    missed, which no tz database entry does.
    """
    if zone is UTC:
        return ()
    found: list[datetime] = []
    t = datetime(year, 1, 1, tzinfo=UTC)
    end = datetime(year + 1, 1, 1, tzinfo=UTC)
    previous = _offset(zone, t)
    while t < end:
        nxt = min(t + _DAY, end)
        current = _offset(zone, nxt)
        if current != previous:
            low, high = t, nxt  # offset(low) == previous, offset(high) != previous
            while high - low > timedelta(seconds=1):
                mid = low + (high - low) / 2
                mid = mid.replace(microsecond=0)
                if _offset(zone, mid) == previous:
                    low = mid
                else:
                    high = mid
            found.append(high)
            previous = current
        t = nxt
    return tuple(found)


def transitions_after(zone: tzinfo, after: datetime, years: int = 2) -> list[datetime]:
    """Offset transitions strictly after ``after`` within the next ``years`` calendar years."""
    result: list[datetime] = []
    for year in range(after.year, min(after.year + years, 9999) + 1):
        result.extend(t for t in _year_transitions(zone, year) if t > after)
    return result


def _next_transition(zone: tzinfo, after: datetime) -> datetime | None:
    if zone is UTC:
        return None
    for year in range(after.year, min(after.year + 10, 9999) + 1):
        for t in _year_transitions(zone, year):
            if t > after:
                return t
    return None


def next_cron_instant(line: CronLine, zone: tzinfo, after: datetime) -> datetime | None:
    """First real instant strictly after ``after`` (aware) at which ``line`` fires in ``zone``.

    Returns ``None`` when the line does not fire within the cron search horizon.
    """
    after = after.astimezone(UTC)
    if line.wall_clock:
        return _next_wall_clock(line, zone, after)
    return _next_elapsed(line, zone, after)


def _next_elapsed(line: CronLine, zone: tzinfo, after: datetime) -> datetime | None:
    cursor, inclusive = after, False
    for _ in range(_MAX_SEGMENTS):
        offset = _offset(zone, cursor)
        boundary = _next_transition(zone, cursor)
        local = line.next_match((cursor + offset).replace(tzinfo=None), inclusive=inclusive)
        if local is None:
            return None
        candidate = local.replace(tzinfo=UTC) - offset
        if boundary is None or candidate < boundary:
            return candidate
        cursor, inclusive = boundary, True
    return None


def _wall_instant(local: datetime, zone: tzinfo) -> datetime:
    """Instant of a wall-clock time: its first occurrence, or the end of the gap it is in."""
    first = local.replace(tzinfo=zone, fold=0).astimezone(UTC)
    if to_local(first, zone) == local:
        return first
    # In a gap: fold=1 applies the offset after the change, giving an instant before it.
    before_gap = local.replace(tzinfo=zone, fold=1).astimezone(UTC)
    boundary = _next_transition(zone, min(before_gap, first) - timedelta(seconds=1))
    return boundary if boundary is not None else first


def _next_wall_clock(line: CronLine, zone: tzinfo, after: datetime) -> datetime | None:
    offset = _offset(zone, after)
    # A backward change soon after ``after`` can give earlier wall-clock times a later
    # instant; start that much earlier (no margin otherwise).
    margin = timedelta(0)
    boundary = _next_transition(zone, after)
    if boundary is not None and boundary - after <= _DAY:
        margin = max(timedelta(0), offset - _offset(zone, boundary))
    local = line.next_match(to_local(after, zone) - margin, inclusive=True)
    for _ in range(_MAX_CANDIDATES):
        if local is None:
            return None
        instant = _wall_instant(local, zone)
        if instant > after:
            return instant
        local = line.next_match(local, inclusive=False)
    return None
