"""The operator's Job watch: what reaches the scheduler, in which order, and when (no API
server: the stream and the listing are fed by hand; the integration suites run it for real)."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from typing import Any

import pytest
from kubernetes_asyncio import client

from almanac.operator import watch as resource_watch
from almanac.operator.watch import ResourceWatch, _Expired, _lines, _Listed, _raise_for, job_lister


def job(namespace: str, name: str, phase: str = "") -> dict[str, Any]:
    return {
        "metadata": {"namespace": namespace, "name": name, "labels": {"a": "b"}},
        "status": {"phase": phase},
    }


def line(kind: str, obj: dict[str, Any]) -> bytes:
    return json.dumps({"type": kind, "object": obj}).encode()


class Seen:
    def __init__(self) -> None:
        self.calls: list[tuple[str, str, bool]] = []
        self.third = asyncio.Event()

    def __call__(self, body: dict[str, Any], deleted: bool) -> None:
        meta = body["metadata"]
        self.calls.append((meta.get("namespace", ""), meta["name"], deleted))
        if len(self.calls) == 3:
            self.third.set()


async def open_gate() -> None:
    return None


def watch(seen: Seen, gate: Any = open_gate) -> ResourceWatch:
    return ResourceWatch(job_lister(client.ApiClient()), "x", [], seen, gate)


class Chunks:
    def __init__(self, *chunks: bytes) -> None:
        self._chunks = chunks

    async def iter_any(self) -> AsyncIterator[bytes]:
        for chunk in self._chunks:
            yield chunk


async def test_lines_are_split_across_chunks_and_may_exceed_aiohttps_limit() -> None:
    big = b"x" * 300_000
    chunks = Chunks(b'{"a":1}\n{"b"', b":2}\n\n" + big[:100_000], big[100_000:] + b"\n", b'{"c":3}')
    got = [line async for line in _lines(chunks)]
    assert got == [b'{"a":1}', b'{"b":2}', big, b'{"c":3}']


async def test_a_relist_reports_the_jobs_gone_meanwhile_as_deleted_only_in_its_namespace() -> None:
    seen = Seen()
    w = watch(seen)
    for item in (
        (job("a", "j1"), False),
        (job("a", "j2"), False),
        (job("b", "j3"), False),
        _Listed("", frozenset({("a", "j1"), ("a", "j2"), ("b", "j3")})),
    ):
        w._dispatch(item)
    seen.calls.clear()
    w._dispatch((job("a", "j1"), False))
    w._dispatch(_Listed("a", frozenset({("a", "j1")})))
    assert seen.calls == [("a", "j1", False), ("a", "j2", True)]
    seen.calls.clear()
    w._dispatch(_Listed("", frozenset({("a", "j1")})))
    assert seen.calls == [("b", "j3", True)]


async def test_watch_lines_deliver_changes_and_deletions_and_bookmarks_change_nothing() -> None:
    seen = Seen()
    w = watch(seen)
    w._dispatch(line("ADDED", job("a", "j1")))
    w._dispatch(line("BOOKMARK", {"metadata": {"resourceVersion": "9"}}))
    w._dispatch(line("MODIFIED", job("a", "j1", "x")))
    w._dispatch(line("DELETED", job("a", "j1")))
    w._dispatch(_Listed("", frozenset()))
    assert seen.calls == [("a", "j1", False), ("a", "j1", False), ("a", "j1", True)]


async def test_events_wait_while_a_launch_burst_runs_and_keep_their_order() -> None:
    seen = Seen()
    burst_over = asyncio.Event()

    async def gate() -> None:
        await burst_over.wait()

    w = watch(seen, gate)
    handling = asyncio.create_task(w._handle_forever())
    w._put(line("ADDED", job("a", "j1")))
    w._put((job("a", "j2"), False))
    w._put(line("DELETED", job("a", "j1")))
    await asyncio.sleep(0)
    await asyncio.sleep(0)
    assert seen.calls == []
    burst_over.set()
    async with asyncio.timeout(2):
        await seen.third.wait()
    handling.cancel()
    assert seen.calls == [("a", "j1", False), ("a", "j2", False), ("a", "j1", True)]


def test_an_expired_watch_means_list_again_and_other_errors_fail() -> None:
    with pytest.raises(_Expired):
        _raise_for({"code": 410, "message": "too old resource version"})
    with pytest.raises(client.ApiException) as caught:
        _raise_for({"code": 500, "message": "boom"})
    assert caught.value.status == 500


async def test_a_cancel_reported_as_a_read_timeout_still_stops_the_watch() -> None:
    resumed: list[bool] = []

    async def watching() -> None:
        task = asyncio.current_task()
        assert task is not None
        task.cancel()  # the shutdown's cancel, pending as the read timeout fires
        try:
            raise TimeoutError
        except TimeoutError:
            resource_watch._raise_if_cancelled()
        resumed.append(True)

    with pytest.raises(asyncio.CancelledError):
        await asyncio.create_task(watching())
    assert resumed == []


async def test_listed_is_announced_once_every_namespace_in_scope_was_listed() -> None:
    announced: list[str] = []
    w = ResourceWatch(
        job_lister(client.ApiClient()),
        "x",
        ["a", "b"],
        Seen(),
        open_gate,
        on_listed=lambda: announced.append("listed"),
    )
    w._dispatch((job("a", "j1"), False))
    w._dispatch(_Listed("a", frozenset({("a", "j1")})))
    assert announced == []  # "b" not listed yet
    w._dispatch(_Listed("b", frozenset()))
    w._dispatch(_Listed("a", frozenset({("a", "j1")})))  # a relist later: no second call
    assert announced == ["listed"]


class ListReply:
    """A list answer as kubernetes_asyncio returns it with ``_preload_content=False``."""

    status = 200
    reason = "OK"

    def __init__(self, items: list[dict[str, Any]]) -> None:
        self._body = json.dumps({"items": items, "metadata": {"resourceVersion": "7"}}).encode()

    async def read(self) -> bytes:
        return self._body


async def test_a_cluster_scoped_resource_is_listed_and_announced() -> None:
    # ClusterJobTemplates carry no namespace: the first list must not fail on that (it
    # did, and the scheduler waited for ever for the watch's first list).
    async def lister(namespace: str, **options: Any) -> ListReply:
        return ListReply([{"metadata": {"name": "http", "resourceVersion": "7"}}])

    seen, announced = Seen(), list[str]()
    w = ResourceWatch(
        lister,
        "",
        [],
        seen,
        open_gate,
        kind="clusterjobtemplate",
        on_listed=lambda: announced.append("listed"),
    )
    assert await w._relist("") == "7"
    for item in list(w._queue):
        w._dispatch(item)
    assert announced == ["listed"]
    assert seen.calls == [("", "http", False)]
