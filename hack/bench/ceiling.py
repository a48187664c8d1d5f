"""The create ceiling of the lag benchmark: how fast a tight client (CONCURRENCY requests
in flight, the operator's launch width) creates N Jobs on this control plane.

Two ceilings: bare Jobs (one pause container), the yardstick the lag targets are set
against; and the operator's own Jobs (built by the operator's code for a real, suspended
ScheduledJob: its labels, owner, environment and restricted security context), which
separates what the operator adds from what the Jobs it must create cost the control plane.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from kubernetes_asyncio import client

from almanac.core.resource import parse_spec
from almanac.core.runs import RunRequest, build_job, builtin_template
from almanac.core.status import TriggerKind
from almanac.core.vocabulary import GROUP, VERSION

CONCURRENCY = 32
PAUSE = {"image": "localhost/pause:busybox-1"}
_SUSPENDED = {
    "template": "command",
    "params": {"command": ["true"]},
    "schedule": {"cron": "0 0 1 1 *"},
    "suspend": True,
}


async def _bounded(call: Callable[[int], Awaitable[Any]], n: int) -> None:
    """``call(i)`` for i in range(n), CONCURRENCY requests in flight."""
    limit = asyncio.Semaphore(CONCURRENCY)

    async def one(i: int) -> None:
        async with limit:
            await call(i)

    await asyncio.gather(*(one(i) for i in range(n)))


def _pod_template() -> dict[str, Any]:
    return {
        "spec": {
            "restartPolicy": "Never",
            "containers": [{"name": "c", **PAUSE, "imagePullPolicy": "Never"}],
        }
    }


async def _namespace(core: client.CoreV1Api, prefix: str) -> str:
    name = f"{prefix}-{uuid.uuid4().hex[:6]}"
    await core.create_namespace({"metadata": {"name": name}})
    return name


async def _delete_namespace(core: client.CoreV1Api, name: str) -> None:
    await core.delete_namespace(name)
    while True:
        try:
            await core.read_namespace(name)
        except client.ApiException as exc:
            if exc.status == 404:
                return
        await asyncio.sleep(1)


async def bench_ceiling(api: client.ApiClient, n: int) -> dict[str, Any]:
    core, batch = client.CoreV1Api(api), client.BatchV1Api(api)
    ns = await _namespace(core, "bench-raw")
    try:
        began = time.monotonic()
        await _bounded(
            lambda i: batch.create_namespaced_job(
                ns,
                {
                    "metadata": {"name": f"j{i}"},
                    "spec": {"backoffLimit": 0, "template": _pod_template()},
                },
            ),
            n,
        )
        took = time.monotonic() - began
        return {"who": "tight client (ceiling)", "n": n, "seconds": took, "rate": n / took}
    finally:
        await _delete_namespace(core, ns)


async def bench_ceiling_same_jobs(api: client.ApiClient, n: int) -> dict[str, Any]:
    """The ceiling for the Jobs the operator creates: N of them, built by its own code."""
    core, batch = client.CoreV1Api(api), client.BatchV1Api(api)
    custom = client.CustomObjectsApi(api)
    ns = await _namespace(core, "bench-shaped")
    try:
        owner = await custom.create_namespaced_custom_object(
            GROUP,
            VERSION,
            ns,
            "scheduledjobs",
            {
                "apiVersion": f"{GROUP}/{VERSION}",
                "kind": "ScheduledJob",
                "metadata": {"name": "shaped"},
                "spec": _SUSPENDED,
            },
        )
        spec, first = parse_spec(owner["spec"]), datetime(2026, 1, 1, tzinfo=UTC)
        bodies = [
            build_job(
                name="shaped",
                namespace=ns,
                uid=owner["metadata"]["uid"],
                spec=spec,
                run=RunRequest(first + timedelta(minutes=i), TriggerKind.SCHEDULE),
                template=builtin_template("command", PAUSE["image"]),
            )
            for i in range(n)
        ]
        began = time.monotonic()
        await _bounded(
            lambda i: batch.create_namespaced_job(ns, bodies[i], _preload_content=False), n
        )
        took = time.monotonic() - began
        return {"who": "tight client, Almanac's Jobs", "n": n, "seconds": took, "rate": n / took}
    finally:
        await _delete_namespace(core, ns)
