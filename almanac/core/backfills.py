"""Backfills asked for by annotation: ``almanac.dev/backfill: <start>/<end>`` on a
ScheduledJob becomes the RunRequests the facade's backfill writes (one per slot, named
like its run), so a namespace without the facade backfills as one with it does.

Why an annotation: a RunRequest launches with what it carries, so admission lets only the
operator and the facade write them; patching the ScheduledJob is what the user's RBAC
already allows, and the operator checks the range against the job's own schedule. The
value is acted on once (its key is acknowledged in ``status.runNowKeys``); asking the
same range again needs another value (``almanac backfill`` writes the exact instants).
Pure: the reconcile pass calls :func:`backfill_asks`.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Final

from almanac.core.actions import Action, AskRun, PostEvent
from almanac.core.errors import InvalidInputError
from almanac.core.naming import rfc3339_utc
from almanac.core.plan import slots_due
from almanac.core.runrequests import backfill_request
from almanac.core.snapshot import Snapshot
from almanac.core.vocabulary import ANNOTATION_BACKFILL, EventReason

__all__ = [
    "MAX_BACKFILL_SLOTS",
    "backfill_asks",
    "backfill_key",
    "backfill_value",
    "parse_backfill",
]

#: Slots one annotation may ask for (the facade's default limit on one backfill).
MAX_BACKFILL_SLOTS: Final = 100
_KEY_PREFIX: Final = "backfill:"


def backfill_key(value: str) -> str:
    """The acknowledgement of one annotation value in ``status.runNowKeys``."""
    return f"{_KEY_PREFIX}{value}"


def backfill_value(start: datetime, end: datetime) -> str:
    """The annotation's value for ``[start, end]`` (what ``almanac backfill`` writes)."""
    return f"{rfc3339_utc(start)}/{rfc3339_utc(end)}"


def parse_backfill(value: str) -> tuple[datetime, datetime]:
    """``<start>/<end>``, two RFC 3339 instants with offsets, ``start <= end``."""
    start_text, slash, end_text = value.partition("/")
    try:
        if not slash:
            raise ValueError
        start, end = datetime.fromisoformat(start_text), datetime.fromisoformat(end_text)
    except ValueError:
        raise InvalidInputError(
            f"{value!r} is not <start>/<end>; write e.g. 2026-10-01T00:00:00Z/2026-10-02T00:00:00Z",
            ANNOTATION_BACKFILL,
        ) from None
    if start.tzinfo is None or end.tzinfo is None:
        raise InvalidInputError(
            "both instants need a UTC offset (Z or +hh:mm)", ANNOTATION_BACKFILL
        )
    if end < start:
        raise InvalidInputError("the end is before the start", ANNOTATION_BACKFILL)
    return start, end


def backfill_asks(s: Snapshot, value: str) -> list[Action]:
    """A RunRequest per slot of the range not asked for already, and an Event; or only an
    Event saying why nothing was asked (a bad value, no schedule, too many slots)."""
    try:
        start, end = parse_backfill(value)
    except InvalidInputError as exc:
        return [PostEvent(EventReason.BACKFILL_REFUSED, f"{exc.field}: {exc.message}")]
    if s.compiled is None:
        return [PostEvent(EventReason.BACKFILL_REFUSED, "the job has no schedule to backfill")]
    slots = slots_due(s.compiled, start - timedelta(microseconds=1), end, MAX_BACKFILL_SLOTS + 1)
    if len(slots) > MAX_BACKFILL_SLOTS:
        why = f"{value} holds more than {MAX_BACKFILL_SLOTS} slots; narrow it"
        return [PostEvent(EventReason.BACKFILL_REFUSED, why)]
    asks: list[Action] = []
    for slot in slots:
        name, spec = backfill_request(s.ref.name, s.ref.uid, slot)
        if name not in s.requests:
            asks.append(AskRun(name, spec))
    message = f"{len(slots)} slot(s) of {value} asked for ({len(asks)} new)"
    return [*asks, PostEvent(EventReason.BACKFILL_REQUESTED, message)]
