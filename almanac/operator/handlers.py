"""The one Kopf handler: the operator's shutdown.

Kopf runs the leader's lifecycle (signals, the cleanup phase); every resource the
operator reads comes through its own watch (:mod:`.watch`), which writes nothing onto
user objects (no annotations, progress or finalizers: GitOps sees no drift, invariant
no-drift) and tells the scheduler when its first list is complete.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

import kopf

__all__: list[str] = []


@kopf.on.cleanup()
async def stopping(memo: kopf.Memo, **_: Any) -> None:
    """Kopf took over SIGTERM: tell the tasks outside Kopf (the trigger consumer) to stop,
    or Kopf would wait on the tasks they spawned for ever, and wind them down now."""
    stop: asyncio.Event = memo["stopping"]
    stop.set()
    wind_down: Callable[[], Awaitable[None]] = memo["wind_down"]
    await wind_down()
