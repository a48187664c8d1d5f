"""Compiled schedules: the slots of a ``spec.schedule``, as real UTC instants.

A :class:`CompiledSchedule` is built once per spec generation and answers the questions the
operator asks every tick: the next slot after an instant, the slots in a window, and how
many slots a (possibly huge) window holds. Every answer is bounded: cron searches stop after
:data:`~almanac.core.cron.SEARCH_YEARS`, enumerations take a ``limit``, and counts for
``every`` are arithmetic.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta, tzinfo
from typing import TYPE_CHECKING, Final

from almanac.core.cron import CronLine, parse_cron
from almanac.core.durations import parse_duration
from almanac.core.errors import InvalidScheduleError, ScheduleNeverFiresError
from almanac.core.zones import load_zone, next_cron_instant, require_aware

if TYPE_CHECKING:
    from almanac.core.models import Schedule

__all__ = [
    "DEFAULT_COUNT_LIMIT",
    "EPOCH",
    "INTERVAL_SAMPLES",
    "MIN_EVERY",
    "CompiledSchedule",
    "SlotCount",
    "compile_schedule",
    "summarize_schedule",
]

EPOCH: Final = datetime(1970, 1, 1, tzinfo=UTC)
#: Shortest ``every`` accepted: below one second the operator cannot keep up with the slots.
MIN_EVERY: Final = timedelta(seconds=1)
#: Cron slots enumerated by :meth:`CompiledSchedule.count_between` before it extrapolates.
DEFAULT_COUNT_LIMIT: Final = 10_000
#: Slots :meth:`CompiledSchedule.longest_gap` looks at: more than a week of daily slots.
INTERVAL_SAMPLES: Final = 16
_MICRO: Final = timedelta(microseconds=1)


@dataclass(frozen=True)
class SlotCount:
    """How many slots a window holds; ``exact`` is False when extrapolated past a cap."""

    count: int
    exact: bool = True


@dataclass(frozen=True)
class CompiledSchedule:
    """A validated schedule ready for evaluation.

    Exactly one of ``lines``, ``every`` or ``at`` describes the slots; ``start``/``end``
    bound them (both inclusive) and ``max_runs`` caps how many launch.
    """

    zone: tzinfo
    zone_name: str
    lines: tuple[CronLine, ...] = ()
    every: timedelta | None = None
    phase: timedelta = timedelta(0)
    at: datetime | None = None
    start: datetime | None = None
    end: datetime | None = None
    max_runs: int | None = None
    jitter: timedelta = timedelta(0)

    def next_after(self, after: datetime) -> datetime | None:
        """First slot strictly after ``after`` within ``[start, end]``, or ``None``."""
        after = require_aware(after, "after")
        if self.start is not None and after < self.start:
            after = self.start - _MICRO
        slot = self._raw_next(after)
        if slot is None or (self.end is not None and slot > self.end):
            return None
        return slot

    def _raw_next(self, after: datetime) -> datetime | None:
        if self.at is not None:
            return self.at if self.at > after else None
        if self.every is not None:
            return self._every_slot(self._every_index(after) + 1)
        found = (next_cron_instant(line, self.zone, after) for line in self.lines)
        return min((slot for slot in found if slot is not None), default=None)

    def _every_index(self, instant: datetime) -> int:
        """Index ``k`` of the last ``every`` slot at or before ``instant``."""
        assert self.every is not None
        return (instant - EPOCH - self.phase) // self.every

    def _every_slot(self, index: int) -> datetime:
        assert self.every is not None
        return EPOCH + self.phase + index * self.every

    def iter_slots(self, after: datetime, until: datetime) -> Iterator[datetime]:
        """Yield the slots in ``(after, until]`` in increasing order (unbounded: cap it)."""
        until = require_aware(until, "until")
        slot = self.next_after(after)
        while slot is not None and slot <= until:
            yield slot
            slot = self.next_after(slot)

    def slots_between(self, after: datetime, until: datetime, limit: int) -> list[datetime]:
        """The first ``limit`` slots in ``(after, until]``, oldest first."""
        result: list[datetime] = []
        for slot in self.iter_slots(after, until):
            if len(result) >= limit:
                break
            result.append(slot)
        return result

    def count_between(
        self, after: datetime, until: datetime, limit: int = DEFAULT_COUNT_LIMIT
    ) -> SlotCount:
        """Number of slots in ``(after, until]``.

        ``every`` and ``at`` are counted arithmetically. Cron slots are enumerated up to
        ``limit``; past it the rate seen so far is extrapolated and ``exact`` is False —
        the figure only feeds a "skipped" counter, so an estimate is enough and the
        operator never loops over years of per-second slots.
        """
        after, until = require_aware(after, "after"), require_aware(until, "until")
        if self.start is not None and after < self.start:
            after = self.start - _MICRO
        if self.end is not None and until > self.end:
            until = self.end
        if until <= after:
            return SlotCount(0)
        if self.at is not None:
            return SlotCount(int(after < self.at <= until))
        if self.every is not None:
            return SlotCount(max(0, self._every_index(until) - self._every_index(after)))
        seen, last = 0, after
        for slot in self.iter_slots(after, until):
            seen, last = seen + 1, slot
            if seen >= limit and slot < until:
                covered = (last - after) / (until - after)
                return SlotCount(round(seen / covered) if covered > 0 else seen, exact=False)
        return SlotCount(seen)

    def longest_gap(self, after: datetime, samples: int = INTERVAL_SAMPLES) -> timedelta | None:
        """The longest gap between the first ``samples`` slots after ``after``; ``None``
        when fewer than two remain (a one-off ``at``, a schedule about to end).

        What "k times its interval" alerts divide by: the longest gap, not the typical
        one, so that a weekday cron is not overdue every weekend (its gaps are 1 d and,
        once a week, 3 d; sixteen slots always span a weekend). An ``every`` is its
        period, without enumerating; each cron slot costs one bounded search.
        """
        if self.every is not None:
            first = self.next_after(after)
            return self.every if first and self.next_after(first) else None
        gaps, slot = [], self.next_after(after)
        for _ in range(samples):
            following = self.next_after(slot) if slot is not None else None
            if slot is None or following is None:
                break
            gaps.append(following - slot)
            slot = following
        return max(gaps, default=None)

    def newest_between(self, after: datetime, until: datetime, count: int) -> list[datetime]:
        """The newest ``count`` slots in ``(after, until]``, oldest first.

        Scans backwards from ``until`` in windows that double in length until enough slots
        are found or ``after`` is reached; a window too dense to enumerate is halved. A
        per-second cron over a week therefore costs a few short scans, never a week of slots.
        """
        after, until = require_aware(after, "after"), require_aware(until, "until")
        newest_first: list[datetime] = []
        high, span = until, timedelta(minutes=1)
        while len(newest_first) < count and high > after:
            low = max(after, high - span)
            newest_first.extend(reversed(self._newest_in(low, high, count - len(newest_first))))
            high, span = low, span * 2
        return newest_first[::-1]

    def _newest_in(self, low: datetime, high: datetime, need: int) -> list[datetime]:
        found = self.slots_between(low, high, DEFAULT_COUNT_LIMIT)
        if len(found) < DEFAULT_COUNT_LIMIT:
            return found[-need:] if need > 0 else []
        middle = low + (high - low) / 2
        newer = self._newest_in(middle, high, need)
        if len(newer) >= need:
            return newer
        return self._newest_in(low, middle, need - len(newer)) + newer


def compile_schedule(schedule: Schedule, field: str = "spec.schedule") -> CompiledSchedule:
    """Turn a validated :class:`~almanac.core.models.Schedule` into a :class:`CompiledSchedule`.

    Raises
    ------
    InvalidInputError
        Any semantic problem the model validators did not already refuse, each naming its
        field under ``field``.
    """
    zone = load_zone(schedule.time_zone, f"{field}.timeZone")
    start = (
        require_aware(schedule.start_time, f"{field}.startTime") if schedule.start_time else None
    )
    end = require_aware(schedule.end_time, f"{field}.endTime") if schedule.end_time else None
    if start is not None and end is not None and end <= start:
        raise InvalidScheduleError(
            "endTime must be after startTime; move endTime later or drop it", f"{field}.endTime"
        )
    jitter = (
        parse_duration(schedule.jitter, f"{field}.jitter", allow_zero=True)
        if schedule.jitter
        else timedelta(0)
    )
    base = CompiledSchedule(
        zone=zone,
        zone_name=schedule.time_zone,
        start=start,
        end=end,
        max_runs=schedule.max_runs,
        jitter=jitter,
    )
    chosen = [name for name in ("cron", "every", "at") if getattr(schedule, name) is not None]
    if len(chosen) != 1:
        raise InvalidScheduleError(
            "set exactly one of cron, every or at"
            + (f" (found {', '.join(chosen)})" if chosen else ""),
            field,
        )
    if schedule.phase is not None and schedule.every is None:
        raise InvalidScheduleError("phase only applies to every; remove it", f"{field}.phase")
    if schedule.cron is not None:
        compiled = replace(base, lines=_parse_lines(schedule.cron, field))
    elif schedule.every is not None:
        every = parse_duration(schedule.every, f"{field}.every")
        if every < MIN_EVERY:
            raise InvalidScheduleError(
                f"every {schedule.every!r} is below 1s; use at least 1s", f"{field}.every"
            )
        phase = (
            parse_duration(schedule.phase, f"{field}.phase", allow_zero=True)
            if schedule.phase
            else timedelta(0)
        )
        compiled = replace(base, every=every, phase=phase % every)
    else:
        assert schedule.at is not None
        at = require_aware(schedule.at, f"{field}.at")
        compiled = replace(base, at=at)
    _check_fires(compiled, field)
    return compiled


def _parse_lines(cron: str | list[str], field: str) -> tuple[CronLine, ...]:
    if isinstance(cron, str):
        return (parse_cron(cron, f"{field}.cron"),)
    if not cron:
        raise InvalidScheduleError("cron list is empty; give at least one line", f"{field}.cron")
    return tuple(parse_cron(text, f"{field}.cron[{i}]") for i, text in enumerate(cron))


def _check_fires(compiled: CompiledSchedule, field: str) -> None:
    """Refuse bounded schedules with no slot inside their bounds (bounded search)."""
    if compiled.start is None and compiled.at is None:
        return
    probe = (compiled.start or compiled.at or EPOCH) - _MICRO
    if compiled.next_after(probe) is None:
        raise ScheduleNeverFiresError(
            "the schedule has no slot between startTime and endTime; widen the window or "
            "change the schedule",
            field,
        )


def summarize_schedule(schedule: Schedule | None) -> str:
    """One-line human summary for ``status.scheduleSummary`` (the SCHEDULE column)."""
    if schedule is None:
        return "triggers only"
    if schedule.cron is not None:
        lines = [schedule.cron] if isinstance(schedule.cron, str) else schedule.cron
        return "; ".join(" ".join(line.split()) for line in lines)
    if schedule.every is not None:
        phase = f" +{schedule.phase}" if schedule.phase else ""
        return f"every {schedule.every}{phase}"
    if schedule.at is not None:
        return f"at {require_aware(schedule.at, 'at').isoformat().replace('+00:00', 'Z')}"
    return ""
