"""The scheduler's wake-up queue: one heap of (instant, ScheduledJob) for every object.

Watch events and timers both become entries here; the loop pops what is due and sleeps
until the next entry. No per-object timers or daemons: ten thousand idle ScheduledJobs
cost ten thousand heap entries, not ten thousand tasks.
"""

from __future__ import annotations

import asyncio
import contextlib
import heapq
import itertools
from collections.abc import Callable
from datetime import datetime, timedelta

__all__ = ["COALESCE", "IDLE_TICK", "Key", "WakeQueue"]

Key = tuple[str, str]
#: The loop wakes at least this often, so liveness sees it alive.
IDLE_TICK = 5.0
#: How long a change a pass only needs to read (a Job's phase, a trigger counter) waits for
#: more: at a hundred events a second a job with a thousand runs in flight was
#: reconciled hundreds of times a second, each pass O(runs).
COALESCE = timedelta(milliseconds=200)


class WakeQueue:
    """When each ScheduledJob wants its next pass; the earliest wins."""

    def __init__(self, clock: Callable[[], datetime]) -> None:
        self._clock = clock
        self._heap: list[tuple[datetime, int, Key]] = []
        #: The earliest queued wake-up per object: a later poke adds nothing to it.
        self._wakes: dict[Key, datetime] = {}
        self._seq = itertools.count()
        self._wake = asyncio.Event()

    def __len__(self) -> int:
        return len(self._heap)

    def poke(self, key: Key, when: datetime | None = None) -> None:
        """Reconcile ``key`` at ``when`` (now by default). A pass already queued for that
        time or earlier covers it: every pass re-plans all later wake-ups itself."""
        when = when or self._clock()
        queued = self._wakes.get(key)
        if queued is not None and queued <= when:
            return
        self._wakes[key] = when
        heapq.heappush(self._heap, (when, next(self._seq), key))
        self._wake.set()

    def observed(self, key: Key) -> None:
        """Something a pass reads changed: reconcile soon, once for a stream of changes."""
        self.poke(key, self._clock() + COALESCE)

    def queued(self) -> list[tuple[datetime, Key]]:
        """Every entry, earliest first (for tests and debugging)."""
        return sorted((when, key) for when, _, key in self._heap)

    def pop_due(self, now: datetime) -> set[Key]:
        """The objects whose wake-up has come."""
        due: set[Key] = set()
        while self._heap and self._heap[0][0] <= now:
            when, _, key = heapq.heappop(self._heap)
            if self._wakes.get(key) == when:
                del self._wakes[key]
            due.add(key)
        return due

    async def sleep(self, now: datetime) -> None:
        """Until the next entry is due, a poke comes, or :data:`IDLE_TICK` passed."""
        delay = IDLE_TICK
        if self._heap:
            delay = min(delay, max(0.0, (self._heap[0][0] - now).total_seconds()))
        self._wake.clear()
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._wake.wait(), timeout=delay)
