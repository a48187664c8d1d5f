"""One Kafka partition's records in flight, started as they are read, committed in order.

Waiting for a whole poll batch before reading the next one made every event that arrived
meanwhile wait for the slowest request of the batch before (about half a second at 100
events/s). Here each record's work starts at once; only a *barrier* record (one that
cancels pending runs) waits for all the records before it, and holds back all the
records after it, so a start and its cancel keep their order. The committable offset is
the one after the longest prefix of finished records; a failed record stops that prefix
and is reported, so the consumer can rewind the partition to it (the records after it
that ran already meet AlreadyExists on the re-read).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections import deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

__all__ = ["Failed", "OrderedWork"]

Work = Callable[[], Awaitable[None]]


@dataclass(frozen=True)
class Failed:
    """The first record whose work failed: re-read the partition from ``offset``."""

    offset: int
    error: BaseException


class OrderedWork:
    def __init__(self) -> None:
        self._flight: deque[tuple[int, asyncio.Task[None]]] = deque()
        self._barrier: asyncio.Task[None] | None = None

    def __len__(self) -> int:
        """Records read and not yet released by :meth:`committable`."""
        return len(self._flight)

    def add(self, offset: int, work: Work, *, barrier: bool = False) -> None:
        """Start ``work`` for the record at ``offset`` (after the last barrier; a barrier
        also after every record before it)."""
        before: list[asyncio.Task[None]] = (
            [task for _, task in self._flight]
            if barrier
            else ([self._barrier] if self._barrier is not None else [])
        )
        task = asyncio.create_task(_after(before, work))
        if barrier:
            self._barrier = task
        self._flight.append((offset, task))

    def committable(self) -> int | None:
        """The offset to commit (one past the finished prefix), or None if the prefix did
        not grow; finished records are released."""
        done: int | None = None
        while self._flight:
            offset, task = self._flight[0]
            if not task.done() or task.cancelled() or task.exception() is not None:
                break
            self._flight.popleft()
            done = offset + 1
        if self._barrier is not None and self._barrier.done() and not self._flight:
            self._barrier = None
        return done

    def first_unfinished(self) -> int | None:
        """The offset of the oldest record whose work is not done (a failed one counts:
        it is re-read), or None when every record in flight is done."""
        for offset, task in self._flight:
            if not task.done() or task.cancelled() or task.exception() is not None:
                return offset
        return None

    def failed(self) -> Failed | None:
        """The earliest record whose work raised, once everything before it finished."""
        for offset, task in self._flight:
            if not task.done():
                return None
            if not task.cancelled() and task.exception() is not None:
                return Failed(offset, task.exception() or RuntimeError("failed"))
        return None

    async def wait_any(self) -> None:
        """Return when the oldest record in flight finished (backpressure)."""
        if self._flight:
            await asyncio.wait([self._flight[0][1]])

    async def drain(self, timeout: float) -> None:
        """Let the records in flight finish (on shutdown), up to ``timeout`` seconds."""
        tasks = [task for _, task in self._flight]
        if tasks:
            await asyncio.wait(tasks, timeout=timeout)

    async def abandon(self) -> None:
        """Stop every record in flight (the partition is re-read from a failure)."""
        tasks = [task for _, task in self._flight]
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(BaseException):
                await task
        self._flight.clear()
        self._barrier = None


async def _after(before: list[asyncio.Task[None]], work: Work) -> None:
    """Run ``work`` once ``before`` finished; a failure there fails this record too (the
    partition is re-read from the earliest failure anyway)."""
    if before:
        await asyncio.gather(*before)
    await work()
