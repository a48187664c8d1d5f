"""REST facade benchmark: GET /jobs with 100 jobs in an organisation, and POST /jobs
against creating the same ScheduledJob directly through the API server.

Run by hand on the stack (``make stack``), under the shared lock on a busy machine::

    eval "$(hack/stack env)"; .venv/bin/python -m hack.bench.api_bench

It starts its own facade process (``python -m almanac api``, as ``make dev`` does, with
``make dev``'s facade credentials when the stack has them), works in a fresh organisation
namespace and deletes it at the end. Targets: GET /jobs p99 ≤ 25 ms with 100 jobs;
POST /jobs ≤ 1.3x a direct create of the same CR.

1. POST: ``--jobs`` jobs through the facade, one at a time (identity, validation, template
   check, create, audit row), each followed by the same ScheduledJob (the labels,
   annotations and spec of the facade's first object) created directly with
   kubernetes_asyncio (one request) in a namespace of its own, so all see the same
   apiserver and etcd state and the organisation holds exactly ``--jobs`` jobs. Direct
   creates are made twice: as the admin (a kubectl user: through the admission webhook when
   ``make dev`` registered it) and with the facade's own credentials (which the webhook
   trusts, so: the bare API server; the facade's own cost is POST minus that). The facade
   writes its audit row just after answering: before each direct create the benchmark
   waits (untimed) until that row is in Postgres (``ALMANAC_DATABASE_URL``), which checks
   that every POST wrote it and keeps the write out of the direct create's time;
2. GET: ``--gets`` sequential ``GET /jobs`` (after 20 warm-up calls), the page holding all
   100 jobs.

Both sides use the same HTTP library (aiohttp: kubernetes_asyncio runs on it) on
keep-alive connections, from one asyncio loop. Latencies are the client's wall time, up
to the parsed JSON reply.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Coroutine
from pathlib import Path
from typing import Any

import aiohttp
import httpx
import psycopg
from kubernetes_asyncio import client

from almanac.api import BASE_PATH, encode_identity
from almanac.operator.kube import load_api_client
from almanac.operator.webhookconfig import CONFIGURATION_NAME
from hack.localstack.settings import Dirs

AUDIT_WAIT_SECONDS = 10.0
BODY: dict[str, Any] = {
    "name": "Benchmark job",
    "schedule": "0 0 1 1 *",
    "type": "command",
    "payload": {"command": ["echo", "benchmark"]},
}


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _facade_kubeconfig() -> str | None:
    """``make dev``'s facade credentials (the user its webhook trusts), if this stack has
    them; else the facade runs with ``KUBECONFIG`` like everything else."""
    path = Dirs.from_env().facade_kubeconfig
    return str(path) if path.is_file() else None


def start_facade(port: int, log: Path) -> subprocess.Popen[bytes]:
    env = dict(os.environ, ALMANAC_API_HOST="127.0.0.1", ALMANAC_API_PORT=str(port))
    if kubeconfig := _facade_kubeconfig():
        env["KUBECONFIG"] = kubeconfig
    with log.open("wb") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", "almanac", "api"], stdout=out, stderr=subprocess.STDOUT, env=env
        )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit(f"the facade exited: {log.read_text()[-2000:]}")
        try:
            if httpx.get(f"http://127.0.0.1:{port}/readyz", timeout=2).status_code == 200:
                return process
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    raise SystemExit("the facade did not become ready within 60 s")


def percentiles(samples: list[float]) -> tuple[float, float, float]:
    ordered = sorted(samples)
    p99 = ordered[min(len(ordered) - 1, round(0.99 * (len(ordered) - 1)))]
    return statistics.median(ordered), p99, max(ordered)


def _row(what: str, samples: list[float]) -> str:
    p50, p99, top = (v * 1000 for v in percentiles(samples))
    return f"| {what} | {len(samples)} | {p50:.1f} ms | {p99:.1f} ms | {top:.1f} ms |"


async def _direct_create(
    api: client.CustomObjectsApi, namespace: str, like: dict[str, Any]
) -> float:
    """Create a copy of ``like`` (labels, annotations, spec) under a fresh name."""
    meta = like["metadata"]
    body = {
        "apiVersion": "almanac.dev/v1alpha1",
        "kind": "ScheduledJob",
        "metadata": {
            "name": f"direct-{uuid.uuid4().hex[:8]}",
            "namespace": namespace,
            "labels": meta.get("labels") or {},
            "annotations": meta.get("annotations") or {},
        },
        "spec": like["spec"],
    }
    started = time.perf_counter()
    await api.create_namespaced_custom_object(
        "almanac.dev", "v1alpha1", namespace, "scheduledjobs", body
    )
    return time.perf_counter() - started


async def _timed(
    session: aiohttp.ClientSession, method: str, url: str, **kw: Any
) -> tuple[float, Any]:
    """One facade call, timed from sending the request to having parsed the JSON reply."""
    started = time.perf_counter()
    async with session.request(method, url, **kw) as reply:
        body = await reply.json()
        elapsed = time.perf_counter() - started
        assert reply.status in (200, 201), body
    return elapsed, body


async def _audited(db: psycopg.AsyncConnection[Any], namespace: str, rows: int) -> None:
    """Wait (untimed) for the facade's ``rows``-th audit row of ``namespace``: proof that
    each POST did write it, and the next direct create never shares the CPU with it."""
    deadline = time.monotonic() + AUDIT_WAIT_SECONDS
    while True:
        cursor = await db.execute(
            "SELECT count(*) FROM audit_log WHERE namespace = %s", (namespace,)
        )
        found = (await cursor.fetchone() or (0,))[0]
        if found >= rows:
            return
        if time.monotonic() > deadline:
            raise SystemExit(f"{namespace}: {found} audit rows after {AUDIT_WAIT_SECONDS} s")
        await asyncio.sleep(0.001)


async def _webhook(api_client: client.ApiClient) -> str:
    """What stands between a direct create and etcd, for the report."""
    try:
        config = await client.AdmissionregistrationV1Api(
            api_client
        ).read_validating_webhook_configuration(CONFIGURATION_NAME)
    except client.ApiException:
        return "no admission webhook registered (make stack)"
    hook = next(h for h in config.webhooks if "scheduledjobs" in h.rules[0].resources)
    trusted = [c.expression for c in hook.match_conditions or []]
    if not trusted:
        return "admission webhook registered for every user"
    return f"admission webhook registered; skipped when {trusted}"


async def run(url: str, jobs: int, gets: int) -> None:
    org = f"bench{uuid.uuid4().hex[:8]}"
    namespace = f"org-{org}"
    headers = {"x-rh-identity": encode_identity(org, username="bench")}
    elsewhere = f"bench-direct-{org}"  # direct creates: not counted in the org's jobs
    api_client = await load_api_client()
    as_facade = await load_api_client(_facade_kubeconfig())
    custom = client.CustomObjectsApi(api_client)
    custom_as_facade = client.CustomObjectsApi(as_facade)
    core = client.CoreV1Api(api_client)
    posts: list[float] = []
    direct: list[float] = []
    bare: list[float] = []
    jobs_url = url + BASE_PATH + "/jobs"
    try:
        async with (
            aiohttp.ClientSession(headers=headers) as http,
            await psycopg.AsyncConnection.connect(
                os.environ["ALMANAC_DATABASE_URL"], autocommit=True
            ) as db,
        ):
            # Not timed: creates the namespace, and gives the object the direct side copies.
            _, first = await _timed(http, "POST", jobs_url, json=BODY)
            like = await custom.get_namespaced_custom_object(
                "almanac.dev", "v1alpha1", namespace, "scheduledjobs", first["resource_name"]
            )
            await core.create_namespace({"metadata": {"name": elsewhere}})
            await _direct_create(custom, elsewhere, like)  # warms the direct clients likewise
            await _direct_create(custom_as_facade, elsewhere, like)
            for made in range(2, jobs + 1):
                posts.append((await _timed(http, "POST", jobs_url, json=BODY))[0])
                await _audited(db, namespace, made)
                direct.append(await _direct_create(custom, elsewhere, like))
                bare.append(await _direct_create(custom_as_facade, elsewhere, like))
            _, listing = await _timed(http, "GET", jobs_url, params={"limit": 500})
            count = listing["meta"]["count"]
            for _ in range(20):
                await _timed(http, "GET", jobs_url)
            samples = [
                (await _timed(http, "GET", jobs_url, params={"limit": 100}))[0] for _ in range(gets)
            ]
        print(f"organisation {org}: {count} jobs through REST; {2 * len(direct) + 2} direct")
        print(await _webhook(api_client))
        print("| what | n | p50 | p99 | max |")
        print("|---|---|---|---|---|")
        print(_row("POST /jobs (facade)", posts))
        print(_row("create ScheduledJob (direct, as a kubectl user)", direct))
        print(_row("create ScheduledJob (direct, as the facade's user)", bare))
        print(_row(f"GET /jobs ({min(count, 100)} jobs in the page)", samples))
        for what, baseline in (("direct", direct), ("bare", bare)):
            ratio50 = statistics.median(posts) / statistics.median(baseline)
            ratio99 = percentiles(posts)[1] / percentiles(baseline)[1]
            print(f"POST / {what}: p50 {ratio50:.2f}x, p99 {ratio99:.2f}x", end="")
            print(" (target ≤ 1.3x)" if what == "direct" else " (the facade's own cost)")
        print(f"GET /jobs p99 {percentiles(samples)[1] * 1000:.1f} ms (target ≤ 25 ms)")
    finally:
        for name in (namespace, elsewhere):
            with contextlib.suppress(client.ApiException):
                await core.delete_namespace(name)
        await api_client.close()
        await as_facade.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--url", help="a running facade (default: start one)")
    parser.add_argument("--jobs", type=int, default=100, help="jobs created each way")
    parser.add_argument("--gets", type=int, default=500, help="timed GET /jobs calls")
    args = parser.parse_args()
    with_facade(args.url, "api-bench", lambda url: run(url, args.jobs, args.gets))


def with_facade(
    url: str | None, name: str, bench: Callable[[str], Coroutine[Any, Any, None]]
) -> None:
    """Run ``bench`` against the facade at ``url``, or against one started for it (its log
    in the temporary directory, named after the bench) and stopped after."""
    process = None
    if url is None:
        port = free_port()
        process = start_facade(port, Path(tempfile.gettempdir()) / f"{name}-{port}.log")
        url = f"http://127.0.0.1:{port}"
    try:
        asyncio.run(bench(url))
    finally:
        if process is not None:
            process.send_signal(signal.SIGTERM)
            process.wait(20)


if __name__ == "__main__":
    main()
