"""Wait on conditions, never on the clock: ``eventually`` polls until a check passes."""

from __future__ import annotations

import asyncio
import inspect
import time
from collections.abc import Awaitable, Callable
from typing import TypeVar, overload

__all__ = ["consistently", "eventually"]

T = TypeVar("T")


@overload
async def eventually(
    check: Callable[[], Awaitable[T | None]],
    *,
    timeout: float,
    interval: float = 0.5,
    what: str = "condition",
) -> T: ...


@overload
async def eventually(
    check: Callable[[], T | None],
    *,
    timeout: float,
    interval: float = 0.5,
    what: str = "condition",
) -> T: ...


async def eventually(
    check: Callable[[], object],
    *,
    timeout: float,
    interval: float = 0.5,
    what: str = "condition",
) -> object:
    """Return the first truthy result of ``check``; fail with its last error on timeout.

    Exceptions raised by the check count as "not yet" (an AssertionError carries the
    reason into the failure message).
    """
    deadline = time.monotonic() + timeout
    last: object = None
    while True:
        try:
            result = check()
            if inspect.isawaitable(result):
                result = await result
            if result:
                return result
            last = result
        except Exception as exc:
            last = exc
        if time.monotonic() >= deadline:
            raise AssertionError(f"{what} not reached within {timeout}s; last: {last!r}")
        await asyncio.sleep(interval)


async def consistently(
    check: Callable[[], object | Awaitable[object]],
    *,
    duration: float,
    interval: float = 0.5,
    what: str = "condition",
) -> None:
    """Assert that ``check`` stays truthy for ``duration`` seconds ("nothing happens")."""
    deadline = time.monotonic() + duration
    while time.monotonic() < deadline:
        result = check()
        if inspect.isawaitable(result):
            result = await result
        assert result, f"{what} stopped holding: {result!r}"
        await asyncio.sleep(interval)
