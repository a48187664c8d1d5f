"""Dead letters: runs that failed for good, and trigger events that could not become runs.

Both wait in one place (table ``dead_letters``) until someone looks at them: ``GET
/dead-letters`` lists an organisation's, ``POST /dead-letters/{id}/requeue`` runs a dead
run once more. A run's letter is written in the same transaction as the run's row that
marks it (``dead_lettered_at``), so the two never disagree (invariant nothing-lost); an
event's letter keeps what the tenant sent (its value, bounded by
:data:`MAX_EVENT_VALUE_BYTES`) and why it was refused. Each letter has a stable key
(kind, ScheduledJob uid, subject): writing it again — a replayed buffer, a redelivered
event — stores nothing new.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Final

from almanac.history.records import MAX_ERROR_CHARS, RunRecord

__all__ = [
    "MAX_EVENT_VALUE_BYTES",
    "DeadLetter",
    "LetterKind",
    "bounded_value",
    "event_letter",
    "run_letter",
]

#: What an event's letter keeps of its value: the start of it, enough to see what was sent.
MAX_EVENT_VALUE_BYTES: Final = 64 * 1024


class LetterKind(StrEnum):
    """What a dead letter holds."""

    RUN = "run"
    EVENT = "event"


@dataclass(frozen=True)
class DeadLetter:
    """One dead letter. ``subject`` is the run's name (kind ``run``) or the event's id
    (kind ``event``); ``reason`` the run's last error or why the event was refused.
    ``id`` is set by the store; ``requeued_at``/``requeued_run`` once it was requeued."""

    kind: LetterKind
    namespace: str
    scheduledjob: str
    scheduledjob_uid: str
    subject: str
    reason: str
    at: datetime
    topic: str | None = None
    value: str | None = None
    id: int | None = None
    requeued_at: datetime | None = None
    requeued_run: str | None = None

    @property
    def key(self) -> tuple[str, str, str]:
        """What makes a letter one: writing the same key again stores nothing."""
        return (self.kind.value, self.scheduledjob_uid, self.subject)


def run_letter(record: RunRecord) -> DeadLetter | None:
    """The letter of a run the history marks dead-lettered (``None`` for any other)."""
    if record.dead_lettered_at is None:
        return None
    return DeadLetter(
        kind=LetterKind.RUN,
        namespace=record.namespace,
        scheduledjob=record.scheduledjob,
        scheduledjob_uid=record.scheduledjob_uid,
        subject=record.run_name,
        reason=(record.error or "the run failed")[:MAX_ERROR_CHARS],
        at=record.dead_lettered_at,
    )


def bounded_value(raw: bytes) -> str:
    """An event's value as a letter keeps it: text, cut at :data:`MAX_EVENT_VALUE_BYTES`
    (bytes that are not UTF-8 are replaced, a cut character dropped)."""
    return raw[:MAX_EVENT_VALUE_BYTES].decode("utf-8", errors="replace").rstrip("\ufffd")


def event_letter(
    *,
    namespace: str,
    scheduledjob: str,
    scheduledjob_uid: str,
    event_id: str,
    topic: str,
    reason: str,
    value: bytes,
    at: datetime,
) -> DeadLetter:
    """The letter of an event refused for good for one ScheduledJob."""
    return DeadLetter(
        kind=LetterKind.EVENT,
        namespace=namespace,
        scheduledjob=scheduledjob,
        scheduledjob_uid=scheduledjob_uid,
        subject=event_id,
        reason=reason[:MAX_ERROR_CHARS],
        at=at,
        topic=topic,
        value=bounded_value(value),
    )
