"""A fenced write that waited for a connection past the Lease is never sent.

The chaos suite found a leader frozen with Job creates queued for a pool connection: on
resume it sent them, 15 s after its Lease ran out, and a ``Forbid`` job ran two runs at
once. Here a one-connection pool is held by a slow request while a fenced create waits
for it; the Lease is lost meanwhile; when the connection frees up, the create must fail
with NotLeaderError and the server must never see it. The HTTP server is a loopback
stand-in that only records what reaches it: what is under test is what leaves the client.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import aiohttp
import pytest
from aiohttp import web
from kubernetes_asyncio import client

from almanac.operator.fencing import fenced, install_fence
from almanac.operator.leader import NotLeaderError

NAMESPACE = "fenced"


@dataclass
class Server:
    """Records the Job names that reach it; holds the first request until ``release``."""

    seen: list[str] = field(default_factory=list)
    holding: asyncio.Event = field(default_factory=asyncio.Event)
    release: asyncio.Event = field(default_factory=asyncio.Event)

    async def create(self, request: web.Request) -> web.Response:
        body = await request.json()
        self.seen.append(body["metadata"]["name"])
        if len(self.seen) == 1:
            self.holding.set()
            await self.release.wait()
        return web.json_response(body, status=201)


@pytest.fixture
async def server() -> AsyncIterator[tuple[Server, int]]:
    recorder = Server()
    app = web.Application()
    app.router.add_post(f"/apis/batch/v1/namespaces/{NAMESPACE}/jobs", recorder.create)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    try:
        yield recorder, runner.addresses[0][1]
    finally:
        recorder.release.set()
        await runner.cleanup()


async def _api(port: int, queued: asyncio.Event) -> client.ApiClient:
    configuration = client.Configuration(host=f"http://127.0.0.1:{port}")
    configuration.connection_pool_maxsize = 1
    api = client.ApiClient(configuration)
    install_fence(api)
    # Tells the test when the fenced create waits for the pool's one connection.
    watcher = aiohttp.TraceConfig()

    async def on_queued(*_: Any) -> None:
        queued.set()

    watcher.on_connection_queued_start.append(on_queued)
    watcher.freeze()
    api.rest_client.pool_manager._trace_configs.append(watcher)
    return api


def _job(name: str) -> dict[str, Any]:
    return {"apiVersion": "batch/v1", "kind": "Job", "metadata": {"name": name}}


async def _create(api: client.ApiClient, name: str) -> None:
    batch = client.BatchV1Api(api)
    await batch.create_namespaced_job(NAMESPACE, _job(name), _preload_content=False)


async def _slow_then_fenced(
    server: Server, port: int, lease: list[bool], *, lose_lease: bool
) -> BaseException | None:
    """The slow request holds the connection; the fenced create queues behind it; the
    Lease is lost (or not) before the connection frees up."""
    queued = asyncio.Event()
    api = await _api(port, queued)
    try:
        slow = asyncio.create_task(_create(api, "slow"))
        await asyncio.wait_for(server.holding.wait(), 5)  # it holds the one connection

        async def fenced_create() -> None:
            with fenced(lambda: lease[0], "run waiting"):
                await _create(api, "waiting")

        waiting = asyncio.create_task(fenced_create())
        await asyncio.wait_for(queued.wait(), 5)
        if lose_lease:
            lease[0] = False
        server.release.set()
        await asyncio.wait_for(slow, 5)
        results = await asyncio.wait_for(asyncio.gather(waiting, return_exceptions=True), 5)
        outcome = results[0]
        return outcome if isinstance(outcome, BaseException) else None
    finally:
        await api.close()


async def test_a_fenced_create_that_waited_past_the_lease_is_not_sent(
    server: tuple[Server, int],
) -> None:
    recorder, port = server
    error = await _slow_then_fenced(recorder, port, [True], lose_lease=True)
    assert isinstance(error, NotLeaderError), error
    assert "run waiting not sent" in str(error)
    assert recorder.seen == ["slow"]


async def test_a_fenced_create_still_held_is_sent(server: tuple[Server, int]) -> None:
    recorder, port = server
    assert await _slow_then_fenced(recorder, port, [True], lose_lease=False) is None
    assert recorder.seen == ["slow", "waiting"]


async def test_requests_outside_the_fence_are_never_refused(server: tuple[Server, int]) -> None:
    """Lease renewals and watches are not fenced: a lost fence elsewhere stops nothing."""
    recorder, port = server
    recorder.release.set()
    api = await _api(port, asyncio.Event())
    try:
        with fenced(lambda: False, "a write of another task"):
            pass
        await _create(api, "renewal")
    finally:
        await api.close()
    assert recorder.seen == ["renewal"]
