"""The schedule editor's live preview: the next slots from the engine, with DST marked. Pure.

The slots are :func:`almanac.core.preview.preview_slots`' (the operator's own engine), so
the page shows what will run. What this adds is the explanation a person needs around a
daylight-saving change: which rule Almanac applied to each line (cronie's, see
:mod:`almanac.core.zones`) and, per slot, whether the zone's offset changed since the
previous one, whether the slot was moved out of a skipped hour, or falls in a repeated one.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Final

from almanac.api.errors import bad_request_from
from almanac.core.cron import CronLine
from almanac.core.errors import AlmanacError
from almanac.core.preview import format_instant, preview_slots
from almanac.core.resource import parse_schedule
from almanac.core.schedule import CompiledSchedule, compile_schedule

__all__ = ["PREVIEW_COUNT", "PreviewRow", "SchedulePreview", "preview"]

#: Slots the editor shows.
PREVIEW_COUNT: Final = 10
_WALL: Final = (
    "wall-clock rule for {line}: fixed minute and hour, so it runs once per day it matches; "
    "a time skipped by a forward DST jump runs at the first instant after the gap, a time "
    "repeated by a backward jump runs at its first occurrence only"
)
_ELAPSED: Final = (
    "elapsed-time rule for {line}: it runs at every instant whose local time matches, so "
    "it runs in both passes of a repeated hour and not at all inside a skipped one"
)


@dataclass(frozen=True)
class PreviewRow:
    """One upcoming slot as the editor lists it."""

    instant: str
    local: str
    offset: str
    notes: tuple[str, ...] = ()


@dataclass(frozen=True)
class SchedulePreview:
    """The rows, the rules that applied, or why there is no preview (field + message)."""

    rows: tuple[PreviewRow, ...] = ()
    rules: tuple[str, ...] = ()
    error_field: str | None = None
    error: str | None = None
    zone: str = "UTC"

    def as_json(self) -> dict[str, Any]:
        return {
            "zone": self.zone,
            "rules": list(self.rules),
            "slots": [
                {"instant": r.instant, "local": r.local, "offset": r.offset, "notes": list(r.notes)}
                for r in self.rows
            ],
            "error": None
            if self.error is None
            else {"field": self.error_field, "message": self.error},
        }


def _offset(instant: datetime) -> str:
    delta = instant.utcoffset() or timedelta(0)
    sign = "-" if delta < timedelta(0) else "+"
    minutes = abs(int(delta.total_seconds())) // 60
    return f"{sign}{minutes // 60:02d}:{minutes % 60:02d}"


def _repeated(local: datetime) -> bool:
    """Whether this wall-clock time happens twice (the hour a backward jump repeats)."""
    return local.replace(fold=0).utcoffset() != local.replace(fold=1).utcoffset()


def _notes(slot: datetime, previous: datetime | None, lines: tuple[CronLine, ...]) -> list[str]:
    notes: list[str] = []
    if previous is not None and previous.utcoffset() != slot.utcoffset():
        notes.append(f"DST: the offset changes from {_offset(previous)} to {_offset(slot)}")
    if not lines:
        return notes
    naive = slot.replace(tzinfo=None)
    if not any(line.matches(naive) for line in lines):
        moved = [line.text for line in lines if line.wall_clock]
        notes.append(
            "moved: its wall-clock time does not exist on this day (clocks jump forward), "
            f"so it runs at the first instant after the gap (wall-clock rule of {moved[0]})"
            if moved
            else "moved out of a skipped hour"
        )
    elif _repeated(slot):
        matching = [line for line in lines if line.matches(naive)]
        if any(not line.wall_clock for line in matching):
            notes.append("repeated hour: the elapsed-time rule runs it in both passes")
        else:
            notes.append("repeated hour: the wall-clock rule runs it at the first occurrence only")
    return notes


def _rules(compiled: CompiledSchedule) -> tuple[str, ...]:
    if compiled.lines:
        return tuple(
            (_WALL if line.wall_clock else _ELAPSED).format(line=line.text)
            for line in compiled.lines
        )
    if compiled.every is not None:
        return (
            "fixed interval: slots are a constant real-time step apart; DST does not move them",
        )
    return ("one instant: DST does not apply",)


def preview(
    schedule: dict[str, Any] | None, now: datetime, count: int = PREVIEW_COUNT
) -> SchedulePreview:
    """The next ``count`` slots after ``now`` of ``spec.schedule``, explained; a schedule
    the engine refuses gives no rows and the refusal with its job JSON field."""
    if schedule is None:
        return SchedulePreview(rules=("no schedule: the job runs only on its events",))
    try:
        compiled = compile_schedule(parse_schedule(schedule))
        slots = preview_slots(compiled, now, count)
    except AlmanacError as exc:
        problem = bad_request_from(exc).problems[0]
        return SchedulePreview(error_field=problem.field, error=problem.message)
    rows: list[PreviewRow] = []
    previous: datetime | None = None
    for slot in slots:
        rows.append(
            PreviewRow(
                instant=format_instant(slot.astimezone(compiled.zone)),
                local=slot.strftime("%a %Y-%m-%d %H:%M"),
                offset=_offset(slot),
                notes=tuple(_notes(slot, previous, compiled.lines)),
            )
        )
        previous = slot
    return SchedulePreview(rows=tuple(rows), rules=_rules(compiled), zone=compiled.zone_name)
