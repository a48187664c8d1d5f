"""A watch-fed copy of the ScheduledJobs of the namespaces that ``GET /jobs`` reads.

Listing 100 custom objects from the API server costs ~10 ms of server time and JSON on a
small machine, more than the whole ``GET /jobs`` budget; so the first list of a namespace
starts a watch and later lists are answered from memory. The facade's own writes go into
the copy at once (read-your-writes for the caller); writes by others (kubectl, another
replica) arrive with the watch, milliseconds later. Single-object reads and every write
still go to the API server. Copies idle for ``IDLE_SECONDS`` are dropped with their watch.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from dataclasses import dataclass, field
from typing import Any, Final

from kubernetes_asyncio import client, watch

from almanac.core.models import API_GROUP
from almanac.core.vocabulary import SCHEDULED_JOBS, VERSION

__all__ = ["JobCache"]

log = logging.getLogger("almanac.api")

PLURAL: Final = SCHEDULED_JOBS
IDLE_SECONDS: Final = 900.0
WATCH_SECONDS: Final = 300
RETRY_SECONDS: Final = 1.0


def _version(obj: dict[str, Any]) -> int:
    """etcd resourceVersions are integers; compare them to drop stale events."""
    try:
        return int(obj["metadata"].get("resourceVersion", 0))
    except (TypeError, ValueError):
        return 0


@dataclass
class _Copy:
    items: dict[str, dict[str, Any]] = field(default_factory=dict)
    gone: set[str] = field(default_factory=set)  # uids seen deleted
    ready: asyncio.Event = field(default_factory=asyncio.Event)
    loaded: bool = False
    used: float = field(default_factory=time.monotonic)
    task: asyncio.Task[None] | None = None

    def put(self, obj: dict[str, Any]) -> None:
        uid = obj["metadata"].get("uid", "")
        known = self.items.get(uid)
        version = _version(obj)
        if uid in self.gone or (known and _version(known) > version):
            return  # uids never come back; older versions never replace newer ones
        self.items[uid] = obj

    def drop(self, obj: dict[str, Any]) -> None:
        uid = obj["metadata"].get("uid", "")
        self.gone.add(uid)
        self.items.pop(uid, None)


class JobCache:
    """Watched copies per namespace; :meth:`list` falls back to nothing but the API."""

    def __init__(self, api: client.ApiClient) -> None:
        self._custom = client.CustomObjectsApi(api)
        self._copies: dict[str, _Copy] = {}

    async def list(self, namespace: str) -> list[dict[str, Any]] | None:
        """Every ScheduledJob of ``namespace`` (the first call lists and starts a watch);
        None when no copy could be loaded (the caller then asks the API server)."""
        self._evict_idle()
        copy = self._copies.get(namespace)
        if copy is None:
            copy = self._copies[namespace] = _Copy()
            copy.task = asyncio.create_task(self._follow(namespace, copy))
        copy.used = time.monotonic()
        await copy.ready.wait()
        if not copy.loaded:
            if copy.task is not None:
                copy.task.cancel()
            self._copies.pop(namespace, None)
            return None
        return list(copy.items.values())

    def written(self, obj: dict[str, Any]) -> None:
        """Our own create/replace: visible to the next list at once."""
        copy = self._copies.get(obj["metadata"].get("namespace", ""))
        if copy is not None:
            copy.put(obj)

    def deleted(self, obj: dict[str, Any]) -> None:
        copy = self._copies.get(obj["metadata"].get("namespace", ""))
        if copy is not None:
            copy.drop(obj)

    async def close(self) -> None:
        tasks = [c.task for c in self._copies.values() if c.task is not None]
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self._copies.clear()

    def _evict_idle(self) -> None:
        now = time.monotonic()
        for namespace, copy in list(self._copies.items()):
            if now - copy.used > IDLE_SECONDS and copy.task is not None:
                copy.task.cancel()
                del self._copies[namespace]

    async def _follow(self, namespace: str, copy: _Copy) -> None:
        """List, then watch from the list's version; relist when the watch ends or fails."""
        while True:
            try:
                reply = await self._custom.list_namespaced_custom_object(
                    API_GROUP, VERSION, namespace, PLURAL
                )
                fresh = _Copy(gone=copy.gone)
                for obj in reply.get("items") or []:
                    obj["metadata"].setdefault("namespace", namespace)
                    fresh.put(obj)
                copy.items, copy.loaded = fresh.items, True
                copy.ready.set()
                stream = watch.Watch().stream(
                    self._custom.list_namespaced_custom_object,
                    API_GROUP,
                    VERSION,
                    namespace,
                    PLURAL,
                    resource_version=reply["metadata"]["resourceVersion"],
                    timeout_seconds=WATCH_SECONDS,
                    allow_watch_bookmarks=True,
                )
                async with stream:
                    async for event in stream:
                        kind, obj = event["type"], event["raw_object"]
                        if kind == "DELETED":
                            copy.drop(obj)
                        elif kind in ("ADDED", "MODIFIED"):
                            copy.put(obj)
                        elif kind == "ERROR":
                            break
            except asyncio.CancelledError:
                raise
            except Exception:  # a broken watch must not end the copy: relist after a pause
                log.warning(
                    "scheduledjob watch failed", exc_info=True, extra={"namespace": namespace}
                )
                copy.ready.set()  # waiting callers fall back (never loaded) or see the last list
                await asyncio.sleep(RETRY_SECONDS)
