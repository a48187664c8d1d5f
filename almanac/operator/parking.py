"""Trigger events refused for good, parked as dead letters (kind ``event``).

An event a ScheduledJob's trigger refuses for a reason that does not go away — a malformed
event, a topic its namespace may not read, a filter or params mapping that fails, the
template's schema, the API server refusing the run's record — is counted ``failed`` on the
trigger and the partition moves on (:mod:`.triggers`). The count says that it happened;
the letter keeps what happened: the event's id, topic and value (its first 64 KiB, as the
tenant sent it) and the reason, in the job's namespace, so its organisation sees it in
``GET /dead-letters``. Parking is best effort and bounded in time: the consumer does not
wait on a slow or absent history (the event is counted and logged either way).
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from datetime import UTC, datetime
from typing import Final

from almanac.history.deadletters import DeadLetter, event_letter

from .logs import log
from .tracked import Tracked

__all__ = ["PARK_TIMEOUT", "EventParking"]

#: Seconds one letter's write may take before the consumer goes on without it.
PARK_TIMEOUT: Final = 2.0


class EventParking:
    """Writes event letters with ``store`` (a :class:`~almanac.history.RunStore`'s
    ``record_dead_letter``); ``None``: no history, nothing is parked."""

    def __init__(
        self,
        store: Callable[[DeadLetter], Awaitable[None]] | None,
        *,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
        timeout: float = PARK_TIMEOUT,
    ) -> None:
        self._store = store
        self._clock = clock
        self._timeout = timeout

    async def park(
        self, refused: Sequence[tuple[Tracked, str]], *, event_id: str, topic: str, value: bytes
    ) -> None:
        """Park one event once per ScheduledJob that refused it, with that job's reason."""
        if self._store is None:
            return
        at = self._clock()
        for t, reason in refused:
            letter = event_letter(
                namespace=t.ref.namespace,
                scheduledjob=t.ref.name,
                scheduledjob_uid=t.ref.uid,
                event_id=event_id,
                topic=topic,
                reason=reason,
                value=value,
                at=at,
            )
            try:
                await asyncio.wait_for(self._store(letter), self._timeout)
            except Exception as exc:
                log.warning(
                    "dead letter not stored",
                    extra={
                        "scheduledjob": f"{t.ref.namespace}/{t.ref.name}",
                        "uid": t.ref.uid,
                        "event_id": event_id,
                        "error": str(exc) or type(exc).__name__,
                    },
                )
