"""Many awaits, a few at a time, without a task per item."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Iterable
from typing import TypeVar

__all__ = ["each_bounded"]

T = TypeVar("T")


async def each_bounded(
    items: Iterable[T], limit: int, work: Callable[[T], Awaitable[None]]
) -> None:
    """Await ``work(item)`` for every item, at most ``limit`` at once.

    ``limit`` workers share one iterator, so 10,000 items cost ``limit`` tasks rather than
    10,000 tasks waiting on a semaphore (their frames were a first pass's memory peak, and
    creating them a visible share of a launch burst's CPU). ``work`` must not raise.
    """
    pending = iter(items)

    async def worker() -> None:
        for item in pending:
            await work(item)

    await asyncio.gather(*(worker() for _ in range(max(1, limit))))
