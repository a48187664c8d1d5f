"""Preview: the next slots of a schedule, as the CLI and the REST facade show them.

Previews use exactly the engine the operator uses (same compiled schedule, same DST rule),
so what a user is shown is what will run. Instants are returned in the schedule's zone so
their offsets say which side of a DST change they fall on.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Final

from almanac.core.errors import InvalidInputError
from almanac.core.models import Schedule, ScheduledJobSpec
from almanac.core.schedule import CompiledSchedule, compile_schedule
from almanac.core.zones import require_aware

__all__ = ["MAX_PREVIEW", "format_instant", "preview_slots"]

#: Largest ``count`` accepted: previews are for people.
MAX_PREVIEW: Final = 1000


def preview_slots(
    source: ScheduledJobSpec | Schedule | CompiledSchedule, start: datetime, count: int
) -> list[datetime]:
    """The first ``count`` slots strictly after ``start``, in the schedule's time zone.

    ``startTime``/``endTime`` bound the slots; ``suspend`` and ``maxRuns`` (which depend on
    state) do not. Fewer than ``count`` are returned when the schedule ends.

    Raises
    ------
    InvalidInputError
        ``count`` outside 1..1000, a naive ``start``, or a spec without a schedule.
    """
    if not 1 <= count <= MAX_PREVIEW:
        raise InvalidInputError(f"count must be between 1 and {MAX_PREVIEW}", "count")
    after = require_aware(start, "from")
    if isinstance(source, ScheduledJobSpec):
        if source.schedule is None:
            raise InvalidInputError(
                "the ScheduledJob has only triggers; add spec.schedule to preview slots",
                "spec.schedule",
            )
        source = source.schedule
    compiled = compile_schedule(source) if isinstance(source, Schedule) else source
    result: list[datetime] = []
    slot = compiled.next_after(after)
    while slot is not None and len(result) < count:
        result.append(slot.astimezone(compiled.zone))
        slot = compiled.next_after(slot)
    return result


def format_instant(instant: datetime) -> str:
    """RFC 3339 with the instant's own offset (``2026-10-25T02:30:00+02:00``).

    Instants in the UTC zone itself are written with ``Z``; zones that merely sit at +00:00
    (Europe/London in winter) keep ``+00:00`` so the output still names the zone's offset.
    """
    text = instant.isoformat()
    return text[:-6] + "Z" if instant.tzinfo is UTC and text.endswith("+00:00") else text
