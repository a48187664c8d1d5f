"""Console benchmark: the jobs list of an organisation holding 1,000 jobs (#24: p95 ≤ 300 ms
server time, paginated).

Run by hand on the stack (``make stack``), one benchmark at a time::

    eval "$(hack/stack env)"; .venv/bin/python -m hack.bench.console_bench

It starts its own facade (as :mod:`.api_bench` does), makes a fresh organisation with one
job through REST (which creates the namespace) and ``--jobs`` minus one more as the same
ScheduledJob created directly (names differ; schedules, time zones and tags vary so the
words and filters have work to do), waits until the facade's watched copy holds them all,
then times ``--gets`` sequential page loads of ``/console/jobs`` after 20 warm-ups: half
plain pages (1 to 20, 50 jobs each), half a search with a tag filter; and ``--calendars``
loads of ``/console/calendar`` (day and week views in turn: every job's upcoming slots).
Latencies are the client's wall time on loopback, up to the whole HTML page read. The
namespace is deleted at the end.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import copy
import time
import uuid
from typing import Any

import aiohttp
from kubernetes_asyncio import client

from almanac.api import encode_identity
from almanac.api.app import BASE_PATH
from almanac.operator.kube import load_api_client
from hack.bench.api_bench import percentiles, with_facade

TARGET_P95_MS = 300.0


def _variant(like: dict[str, Any], index: int) -> dict[str, Any]:
    body = copy.deepcopy(like)
    meta = body["metadata"]
    meta["name"] = f"bench-{index:04d}"
    for key in ("uid", "resourceVersion", "creationTimestamp", "generation", "managedFields"):
        meta.pop(key, None)
    body.pop("status", None)
    body["spec"]["schedule"] = {
        "cron": f"{index % 60} {index % 24} * * *",
        "timeZone": ("Europe/Berlin", "America/New_York", "UTC")[index % 3],
    }
    body["spec"]["tags"] = ["even" if index % 2 == 0 else "odd"]
    return body


async def _fill(
    custom: client.CustomObjectsApi, namespace: str, like: dict[str, Any], n: int
) -> None:
    """``n`` more ScheduledJobs like the first, 16 creates at a time."""
    limit = asyncio.Semaphore(16)

    async def one(index: int) -> None:
        async with limit:
            await custom.create_namespaced_custom_object(
                "almanac.dev", "v1alpha1", namespace, "scheduledjobs", _variant(like, index)
            )

    await asyncio.gather(*(one(i) for i in range(1, n + 1)))


async def _count(http: aiohttp.ClientSession, url: str) -> int:
    async with http.get(url + BASE_PATH + "/jobs", params={"limit": 1}) as reply:
        return int((await reply.json())["meta"]["count"])


def _p95(samples: list[float]) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]


def _row(what: str, samples: list[float]) -> str:
    p50, p99, top = percentiles(samples)
    cells = (p50, _p95(samples), p99, top)
    return f"| {what} | {len(samples)} | " + " | ".join(f"{v * 1000:.1f} ms" for v in cells) + " |"


async def run(url: str, jobs: int, gets: int, calendars_timed: int) -> None:
    org = f"bench{uuid.uuid4().hex[:8]}"
    namespace = f"org-{org}"
    headers = {"x-rh-identity": encode_identity(org, username="bench", is_org_admin=True)}
    api_client = await load_api_client()
    custom = client.CustomObjectsApi(api_client)
    core = client.CoreV1Api(api_client)
    try:
        async with aiohttp.ClientSession(headers=headers) as http:
            body = {
                "name": "Benchmark job",
                "schedule": "0 2 * * *",
                "type": "command",
                "payload": {"command": ["echo", "benchmark"]},
            }
            async with http.post(url + BASE_PATH + "/jobs", json=body) as reply:
                assert reply.status == 201, await reply.text()
                first = await reply.json()
            like = await custom.get_namespaced_custom_object(
                "almanac.dev", "v1alpha1", namespace, "scheduledjobs", first["resource_name"]
            )
            started = time.monotonic()
            await _fill(custom, namespace, like, jobs - 1)
            while (seen := await _count(http, url)) < jobs:
                if time.monotonic() - started > 300:
                    raise SystemExit(f"the facade sees {seen} of {jobs} jobs after 300 s")
                await asyncio.sleep(0.5)  # a benchmark's setup poll, not a test wait
            print(f"organisation {org}: {jobs} jobs, listed by the facade")

            async def page(index: int) -> float:
                query = {"page": str(index % 20 + 1)} if index % 2 else {"q": "bench", "tag": "odd"}
                start = time.perf_counter()
                async with http.get(url + "/console/jobs", params=query) as reply:
                    text = await reply.text()
                elapsed = time.perf_counter() - start
                assert reply.status == 200, text[:500]
                assert text.count("data-job-id=") == 50, "a page holds 50 jobs"
                return elapsed

            async def calendar(index: int) -> float:
                query = {"view": "day" if index % 2 else "week", "tz": "Europe/Berlin"}
                start = time.perf_counter()
                async with http.get(url + "/console/calendar", params=query) as reply:
                    text = await reply.text()
                elapsed = time.perf_counter() - start
                assert reply.status == 200, text[:500]
                return elapsed

            for index in range(20):
                await page(index)
            samples = [await page(index) for index in range(gets)]
            for index in range(4):
                await calendar(index)
            calendars = [await calendar(index) for index in range(calendars_timed)]
        print("| what | n | p50 | p95 | p99 | max |")
        print("|---|---|---|---|---|---|")
        print(_row(f"/console/jobs, {jobs} jobs, 50 a page", samples))
        print(_row(f"/console/calendar (day, week), {jobs} jobs", calendars))
        print(f"jobs list p95 {_p95(samples) * 1000:.1f} ms (target ≤ {TARGET_P95_MS:.0f} ms)")
    finally:
        with contextlib.suppress(client.ApiException):
            await core.delete_namespace(namespace)
        await api_client.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--url", help="a running facade (default: start one)")
    parser.add_argument("--jobs", type=int, default=1000, help="jobs in the organisation")
    parser.add_argument("--gets", type=int, default=200, help="timed page loads")
    parser.add_argument("--calendars", type=int, default=20, help="timed calendar loads")
    args = parser.parse_args()
    with_facade(
        args.url, "console-bench", lambda url: run(url, args.jobs, args.gets, args.calendars)
    )


if __name__ == "__main__":
    main()
