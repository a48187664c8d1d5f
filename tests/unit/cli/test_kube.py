"""The CLI's Kubernetes client against a fake API server (aiohttp, in process): the paths
it calls, the kubeconfig's namespace, merge patches, logs line by line, refusals."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from aiohttp import web

from almanac.cli.errors import NotFoundError
from almanac.cli.kube import Cluster, open_cluster

SJ = "/apis/almanac.dev/v1alpha1/namespaces/team-a/scheduledjobs"


@pytest.fixture
async def server(tmp_path: Path) -> AsyncIterator[tuple[str, list[Any]]]:
    seen: list[Any] = []

    async def scheduled_job(request: web.Request) -> web.Response:
        if request.method == "PATCH":
            seen.append((request.content_type, await request.json()))
        if request.match_info["name"] == "missing":
            return web.json_response({"kind": "Status", "message": "not found"}, status=404)
        return web.json_response({"metadata": {"name": request.match_info["name"]}})

    async def jobs(request: web.Request) -> web.Response:
        seen.append(request.query.get("labelSelector"))
        return web.json_response({"items": [{"metadata": {"name": "nightly-1"}}]})

    async def log(request: web.Request) -> web.StreamResponse:
        seen.append((request.query.get("container"), request.query.get("follow")))
        reply = web.StreamResponse()
        await reply.prepare(request)
        await reply.write(b"one\ntwo\n")
        await reply.write_eof()
        return reply

    app = web.Application()
    app.router.add_route("*", SJ + "/{name}", scheduled_job)
    app.router.add_get("/apis/batch/v1/namespaces/team-a/jobs", jobs)
    app.router.add_get("/api/v1/namespaces/team-a/pods/{pod}/log", log)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    config = {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [{"name": "fake", "cluster": {"server": f"http://127.0.0.1:{port}"}}],
        "users": [{"name": "me", "user": {"token": "t"}}],
        "contexts": [{"name": "c", "context": {"cluster": "fake", "user": "me",
                                               "namespace": "team-a"}}],
        "current-context": "c",
    }  # fmt: skip
    path = tmp_path / "kubeconfig"
    path.write_text(yaml.safe_dump(config))
    try:
        yield str(path), seen
    finally:
        await runner.cleanup()


@pytest.fixture
async def cluster(server: tuple[str, list[Any]]) -> AsyncIterator[Cluster]:
    opened = await open_cluster(server[0], None, None)
    try:
        yield opened
    finally:
        await opened.aclose()


async def test_the_context_namespace_is_the_default(cluster: Cluster) -> None:
    assert cluster.namespace == "team-a"
    assert (await cluster.scheduled_job("nightly"))["metadata"]["name"] == "nightly"


async def test_a_missing_object_is_not_found_naming_it(cluster: Cluster) -> None:
    with pytest.raises(NotFoundError, match='scheduledjob "missing" in namespace team-a'):
        await cluster.scheduled_job("missing")


async def test_patches_are_merge_patches(cluster: Cluster, server: tuple[str, list[Any]]) -> None:
    await cluster.patch_scheduled_job("nightly", {"spec": {"suspend": True}})
    assert server[1] == [("application/merge-patch+json", {"spec": {"suspend": True}})]


async def test_runs_are_selected_by_uid(cluster: Cluster, server: tuple[str, list[Any]]) -> None:
    assert [j["metadata"]["name"] for j in await cluster.jobs_of("u-1")] == ["nightly-1"]
    assert server[1] == ["almanac.dev/scheduledjob-uid=u-1"]


async def test_logs_arrive_line_by_line(cluster: Cluster, server: tuple[str, list[Any]]) -> None:
    lines = [line async for line in cluster.log_lines("pod-1", follow=True)]
    assert lines == ["one", "two"]
    assert server[1] == [("run", "True")]  # Go's ParseBool takes it
