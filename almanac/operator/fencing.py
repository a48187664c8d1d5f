"""The fence checked at the last moment before a leader's write leaves the process.

The launcher and the status writer check the fence (:meth:`LeaderElector.holds`) before
they call the API; but between that check and the request reaching the wire a write can
wait: for a free connection of the pool while the API server is slow or restarting, or
because the whole process was paused (a GC stall, a frozen VM, SIGSTOP). A write that
waited past the Lease arrives after a new leader started scheduling: a ``Forbid`` run
launched over the new leader's, a status the new leader overwrote. The chaos suite caught
exactly that: a leader frozen with launches queued for a connection sent them 15 s later,
on resume.

So the check is made again when aiohttp hands the request its connection, the last
await before the bytes are written (an aiohttp trace hook on the reused or created
connection). Only writes made inside :func:`fenced` are checked, so Lease renewals and
watches are never refused by it. What remains is the synchronous stretch from the hook to
the socket write, microseconds of CPU, against the 3 s the fence keeps between the renew
deadline and the Lease's expiry (invariant one-scheduler).
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from contextvars import ContextVar
from types import SimpleNamespace
from typing import Any

import aiohttp
from kubernetes_asyncio import client

from .leader import NotLeaderError

__all__ = ["fenced", "install_fence"]

_FENCE: ContextVar[Callable[[], bool] | None] = ContextVar("almanac_fence", default=None)


@contextlib.contextmanager
def fenced(holds: Callable[[], bool], what: str) -> Iterator[None]:
    """API requests made inside (in this task) leave only while ``holds()``; else they
    raise :class:`NotLeaderError` naming ``what``, before anything is sent."""
    token = _FENCE.set(lambda: holds() or _refuse(what))
    try:
        yield
    finally:
        _FENCE.reset(token)


def _refuse(what: str) -> bool:
    raise NotLeaderError(f"{what} not sent: the Lease was lost while it waited to be sent")


async def _check(_session: aiohttp.ClientSession, _ctx: SimpleNamespace, _params: Any) -> None:
    check = _FENCE.get()
    if check is not None:
        check()


def install_fence(api: client.ApiClient) -> None:
    """Check :func:`fenced` writes of ``api``'s session as they get their connection."""
    trace = aiohttp.TraceConfig()
    trace.on_connection_reuseconn.append(_check)
    trace.on_connection_create_end.append(_check)
    trace.freeze()
    # kubernetes_asyncio builds the session without trace configs and offers no way in.
    api.rest_client.pool_manager._trace_configs.append(trace)
