"""Almanac's one list-and-watch, for every resource the operator reads (ScheduledJobs,
their templates, Jobs and RunRequests) and the facade's copy of ScheduledJobs.

A launch burst brings several watch events per Job, and an event trigger two per
RunRequest (its creation and its phase). Through Kopf each event cost a per-object worker
task, a body wrapper and handler dispatch (about half a millisecond, on the loop that is
launching); here one task splits the stream into lines and a second one parses them, and
it waits while due runs launch (the lines queue in memory, so the API server never sees a
slow watcher). A full relist reports objects that vanished meanwhile as deleted, as an
informer does, and the first complete list of every namespace is announced
(``on_listed``): the scheduler decides nothing before all its watches have listed.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import aiohttp
from kubernetes_asyncio import client
from kubernetes_asyncio.client.exceptions import ApiException

from almanac.core.vocabulary import GROUP, VERSION

from .kube import REQUESTS, raise_for_status, read_reply
from .logs import log

__all__ = [
    "Handler",
    "Lister",
    "ResourceWatch",
    "custom_lister",
    "job_lister",
    "run_request_lister",
]

PAGE = 500
# Short watches: the server ends each with a bookmark (a fresh resourceVersion); a stream
# that goes silent for longer than READ_TIMEOUT (a hung connection) is resumed, not waited on.
SERVER_TIMEOUT = 30
READ_TIMEOUT = 45
RETRY_DELAYS = (0.5, 1.0, 2.0, 5.0, 10.0)

Handler = Callable[[dict[str, Any], bool], None]
Key = tuple[str, str]
#: Lists (or, with ``watch=True``, watches) one namespace, "" meaning all of them; called
#: with kubernetes_asyncio's list options and ``_preload_content=False``.
Lister = Callable[..., Awaitable[Any]]


def job_lister(api: client.ApiClient) -> Lister:
    batch = client.BatchV1Api(api)

    def call(namespace: str, **options: Any) -> Any:
        if namespace:
            return batch.list_namespaced_job(namespace, **options)
        return batch.list_job_for_all_namespaces(**options)

    return call


def custom_lister(api: client.ApiClient, plural: str, *, cluster: bool = False) -> Lister:
    """Lists or watches one of Almanac's custom resources (``cluster``: cluster-scoped)."""
    custom = client.CustomObjectsApi(api)

    def call(namespace: str, **options: Any) -> Any:
        if namespace and not cluster:
            return custom.list_namespaced_custom_object(
                GROUP, VERSION, namespace, plural, **options
            )
        return custom.list_cluster_custom_object(GROUP, VERSION, plural, **options)

    return call


def run_request_lister(api: client.ApiClient) -> Lister:
    return custom_lister(api, REQUESTS)


#: The failures of a watch that are the network's or the API server's (logged briefly).
_EXPECTED = (ApiException, aiohttp.ClientError, OSError, TimeoutError, ValueError)


class _Expired(Exception):
    """The watch's resourceVersion is too old (410 Gone): list again."""


@dataclass(frozen=True)
class _Listed:
    """A relist's end: objects of ``namespace`` ("" = all) not in ``keys`` are gone."""

    namespace: str
    keys: frozenset[Key]


_Item = bytes | tuple[dict[str, Any], bool] | _Listed


class ResourceWatch:
    def __init__(
        self,
        lister: Lister,
        selector: str,
        namespaces: list[str],
        handle: Handler,
        launches_done: Callable[[], Awaitable[None]],
        *,
        kind: str = "job",
        on_listed: Callable[[], None] | None = None,
        on_failure: Callable[[Exception], None] | None = None,
    ) -> None:
        self._lister = lister
        #: Called on every failed list or watch, before the pause and the next list.
        self._on_failure = on_failure
        #: Called once, when every namespace in scope has been listed and handled.
        self._on_listed = on_listed
        self._listed: set[str] = set()
        self._kind = kind
        self._selector = selector
        self._namespaces = namespaces or [""]
        self._handle = handle
        self._launches_done = launches_done
        # Listed objects and watch lines are handled in arrival order, one queue for all.
        self._queue: list[_Item] = []
        self._arrived = asyncio.Event()
        self._known: dict[Key, dict[str, Any]] = {}

    async def run(self) -> None:
        """Watch every namespace in scope ("" = cluster-wide) until cancelled."""
        handling = asyncio.create_task(self._handle_forever())
        try:
            await asyncio.gather(*(self._scope(ns) for ns in self._namespaces))
        finally:
            handling.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await handling

    def _put(self, item: _Item) -> None:
        self._queue.append(item)
        self._arrived.set()

    async def _scope(self, namespace: str) -> None:
        failures = 0
        while True:
            try:
                version = await self._relist(namespace)
                failures = 0
                while True:
                    version = await self._watch(namespace, version)
            except _Expired:
                continue
            except Exception as exc:  # a watch must not die: list again after a pause
                _raise_if_cancelled()
                if not isinstance(exc, _EXPECTED):
                    log.exception(f"{self._kind} watch broke on an unexpected error")
                if self._on_failure is not None:
                    self._on_failure(exc)
                delay = RETRY_DELAYS[min(failures, len(RETRY_DELAYS) - 1)]
                failures += 1
                log.warning(
                    f"{self._kind} watch failed, listing again",
                    extra={"namespace": namespace or "*", "error": str(exc), "retry_in": delay},
                )
                await asyncio.sleep(delay)

    async def _relist(self, namespace: str) -> str:
        """List every object in scope (paged); the ones gone since are reported deleted."""
        keys: set[Key] = set()
        token: str | None = None
        while True:
            page = await self._list(namespace, token)
            for job in page.get("items") or []:
                meta = job["metadata"]
                keys.add((meta.get("namespace", ""), meta["name"]))
                self._put((job, False))
            meta = page.get("metadata") or {}
            token = meta.get("continue")
            if not token:
                break
        self._put(_Listed(namespace, frozenset(keys)))
        return str(meta.get("resourceVersion", ""))

    async def _list(self, namespace: str, token: str | None) -> dict[str, Any]:
        options: dict[str, Any] = {"label_selector": self._selector, "limit": PAGE}
        if token:
            options["_continue"] = token
        try:
            call = self._lister(namespace, _preload_content=False, **options)
            reply: dict[str, Any] = json.loads(await read_reply(call))
        except ApiException as exc:
            if exc.status == 410:  # the continue token expired: start the listing again
                raise _Expired from exc
            raise
        return reply

    async def _watch(self, namespace: str, version: str) -> str:
        """Queue the stream's lines from ``version`` until the server ends the watch;
        returns the version the next watch resumes from (bookmarks included)."""
        options: dict[str, Any] = {
            "label_selector": self._selector,
            "watch": True,
            "allow_watch_bookmarks": True,
            "resource_version": version,
            "timeout_seconds": SERVER_TIMEOUT,
            "_request_timeout": aiohttp.ClientTimeout(
                total=None, connect=10, sock_connect=10, sock_read=READ_TIMEOUT
            ),
            "_preload_content": False,
        }
        reply = await self._lister(namespace, **options)
        last: bytes | None = None
        try:
            if reply.status == 410:
                raise _Expired
            await raise_for_status(reply)
            with contextlib.suppress(TimeoutError):  # silent too long: resume below
                async for line in _lines(reply.content):
                    if b'"type":"ERROR"' in line[:32]:
                        _raise_for(json.loads(line).get("object") or {})
                    self._put(line)
                    last = line
            _raise_if_cancelled()
        finally:
            reply.release()
        if last is None:
            return version
        meta = (json.loads(last).get("object") or {}).get("metadata") or {}
        return str(meta.get("resourceVersion") or version)

    async def _handle_forever(self) -> None:
        while True:
            await self._arrived.wait()
            await self._launches_done()
            self._arrived.clear()
            items, self._queue = self._queue, []
            for item in items:
                try:
                    self._dispatch(item)
                except Exception:
                    log.exception(f"{self._kind} event not handled")

    def _dispatch(self, item: _Item) -> None:
        if isinstance(item, _Listed):
            for key in [k for k in self._known if not item.namespace or k[0] == item.namespace]:
                if key not in item.keys:
                    self._handle(self._known.pop(key), True)
            self._listed.add(item.namespace)
            if self._on_listed is not None and self._listed >= set(self._namespaces):
                self._on_listed()
                self._on_listed = None
            return
        if isinstance(item, bytes):
            event = json.loads(item)
            if event.get("type") not in ("ADDED", "MODIFIED", "DELETED"):
                return  # BOOKMARK: only its resourceVersion mattered
            obj, deleted = event.get("object") or {}, event["type"] == "DELETED"
        else:
            obj, deleted = item
        meta = obj.get("metadata") or {}
        key = (meta.get("namespace", ""), meta.get("name", ""))
        if deleted:
            self._known.pop(key, None)
        else:
            self._known[key] = _identity(meta)
        self._handle(obj, deleted)


def _raise_if_cancelled() -> None:
    """On Python 3.11 a cancel that lands as a read timeout expires surfaces as
    TimeoutError; the watch must stop then, not resume (a shutdown would wait for ever)."""
    task = asyncio.current_task()
    if task is not None and task.cancelling():
        raise asyncio.CancelledError


def _raise_for(status: dict[str, Any]) -> None:
    """An ERROR line ends the watch: 410 means list again, anything else is a failure."""
    if status.get("code") == 410:
        raise _Expired
    raise ApiException(status=status.get("code"), reason=str(status.get("message", "")))


def _identity(meta: dict[str, Any]) -> dict[str, Any]:
    """Enough of an object to report its deletion after a relist (labels carry its owner)."""
    return {"metadata": {k: meta[k] for k in ("name", "namespace", "uid", "labels") if k in meta}}


async def _lines(content: Any) -> AsyncIterator[bytes]:
    """Split a watch stream into lines; aiohttp's own line reader refuses lines above
    128 KiB, and a Job with a large pod template can exceed that."""
    buffer = b""
    async for chunk in content.iter_any():
        buffer += chunk
        *complete, buffer = buffer.split(b"\n")
        for line in complete:
            if line.strip():
                yield line
    if buffer.strip():
        yield buffer
