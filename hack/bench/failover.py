"""Failover at scale: a leader SIGKILLed just before a busy slot, with many idle jobs.

Run by hand on a quiet ``make stack`` (``make dev``'s operators must not run: they would
launch the benchmark's jobs too; the node is cordoned, so Job creation is what is timed)::

    .venv/bin/python -m hack.bench.failover --idle 10000 --due 100 --before 8

Two replicas (one Lease, watching the benchmark's namespace) take ``--idle`` ScheduledJobs
that are never due, then ``--due`` more due at the next minute; ``--before`` seconds before
that slot the leader is SIGKILLed. Printed: the due Jobs' lag (first seen by a watch, minus
the slot) p50/p99/max, Jobs missing after 60 s and slots run twice, the takeover time
(kill to the standby's "lease acquired"), and the RSS of the replica that took over, at the
end of the slot's minute and 30 s later, beside the old leader's RSS before the kill, and
the new leader's status writes by then (with a restart that changes nothing writing
nothing, the idle jobs should add none; not yet measured).
Targets (#20): p99 ≤ 15 s with 0 missing and 0 doubled; the new leader ≤ 300 MB.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import time
from collections import Counter
from datetime import UTC, datetime
from typing import Any

from kubernetes_asyncio import client, config

from hack.bench.ceiling import _delete_namespace, _namespace
from hack.bench.jobseen import watch_first_seen
from hack.bench.lag import (
    _boundary_jobs,
    _create_scheduled_jobs,
    _cron_for,
    _env,
    _kubectl,
    _next_minute,
    _summary,
)
from hack.bench.operatorproc import metric, proc_stats
from hack.chaos.replicas import Replicas
from hack.chaos.runner import REPO, refuse_dev_operators

WINDOW = 60.0
SETTLE = 30.0


async def _leader(replicas: Replicas, timeout: float = 120) -> tuple[str, int]:
    """(identity, metrics port) of the replica that leads."""
    began = time.monotonic()
    while time.monotonic() - began < timeout:
        for identity, port in replicas.ports():
            if await asyncio.to_thread(metric, port, "almanac_is_leader"):
                return identity, port
        await asyncio.sleep(0.5)
    raise SystemExit("no replica took the Lease")


async def _all_reconciled(port: int, n: int, timeout: float = 900) -> float:
    """Seconds until the replica on ``port`` wrote ``n`` statuses (each object once)."""
    began = time.monotonic()
    while await asyncio.to_thread(metric, port, "almanac_status_writes_total") < n:
        if time.monotonic() - began > timeout:
            raise SystemExit(f"the leader did not reconcile {n} ScheduledJobs in {timeout:.0f} s")
        await asyncio.sleep(1)
    return time.monotonic() - began


async def bench(
    api: client.ApiClient, env: dict[str, str], args: argparse.Namespace
) -> dict[str, Any]:
    core = client.CoreV1Api(api)
    ns = await _namespace(core, "bench-failover")
    logs = REPO / "build" / "bench" / ns
    logs.mkdir(parents=True, exist_ok=True)
    replicas = Replicas(env, ns, logs, count=2)
    try:
        await _create_scheduled_jobs(api, ns, args.idle, "0 0 1 1 *")
        replicas.start_all()
        old, port = await _leader(replicas)
        took = await _all_reconciled(port, args.idle)
        print(f"{args.idle} idle ScheduledJobs reconciled by {old} in {took:.0f} s", flush=True)
        boundary = _next_minute(margin=args.before + 20 + args.due / 50)
        custom = client.CustomObjectsApi(api)
        await _create_due(custom, ns, args.due, _cron_for(boundary))
        seen: dict[str, float] = {}
        jobs: list[dict[str, Any]] = []

        def record(job: dict[str, Any], at: float) -> None:
            jobs.append(job)
            _boundary_jobs(seen, boundary)(job, at)

        watcher = asyncio.create_task(watch_first_seen(api, ns, record))
        await asyncio.sleep(max(0.0, boundary - args.before - time.time()))
        _, old_rss = proc_stats(replicas.pid(old))
        killed_at = time.time()
        replicas.kill(old)
        new, new_port = await _leader(replicas)
        takeover = time.time() - killed_at
        new_pid = replicas.pid(new)
        await asyncio.sleep(max(0.0, boundary + WINDOW - time.time()))
        watcher.cancel()
        _, rss = proc_stats(new_pid)
        writes = await asyncio.to_thread(metric, new_port, "almanac_status_writes_total")
        await asyncio.sleep(SETTLE)
        _, settled = proc_stats(new_pid)
        per_slot = Counter(
            (
                j["metadata"]["labels"].get("almanac.dev/scheduledjob"),
                j["metadata"]["labels"]["almanac.dev/slot"],
            )
            for j in jobs
            if j["metadata"]["labels"].get("almanac.dev/attempt", "1") == "1"
        )
        lags = [t - boundary for t in seen.values()]
        return _summary(lags, args.due) | {
            "who": f"failover, {args.idle} idle, kill {args.before:.0f} s before the slot",
            "doubled": sum(n - 1 for n in per_slot.values() if n > 1),
            "takeover_s": takeover,
            "old_leader_rss_mb": old_rss,
            "new_leader_rss_mb": rss,
            "new_leader_rss_settled_mb": settled,
            "new_leader_status_writes": writes,
        }
    finally:
        replicas.stop_all()
        await _delete_namespace(core, ns)


async def _create_due(custom: client.CustomObjectsApi, ns: str, n: int, cron: str) -> None:
    for i in range(n):
        await custom.create_namespaced_custom_object(
            "almanac.dev",
            "v1alpha1",
            ns,
            "scheduledjobs",
            {
                "apiVersion": "almanac.dev/v1alpha1",
                "kind": "ScheduledJob",
                "metadata": {"name": f"due-{i}"},
                "spec": {
                    "template": "command",
                    "params": {"command": ["true"]},
                    "schedule": {"cron": cron},
                    "overlapPolicy": "Allow",
                },
            },
        )


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--idle", type=int, default=10000)
    parser.add_argument("--due", type=int, default=100)
    parser.add_argument("--before", type=float, default=8.0, help="kill this long before the slot")
    args = parser.parse_args()
    env = _env()
    refuse_dev_operators(env)
    _kubectl(env, "apply", "--server-side", "--force-conflicts", "-f", str(REPO / "crds"))
    crd = "crd/scheduledjobs.almanac.dev"
    _kubectl(env, "wait", "--for=condition=Established", "--timeout=60s", crd)
    configuration = client.Configuration()
    await config.load_kube_config(config_file=env["KUBECONFIG"], client_configuration=configuration)
    configuration.connection_pool_maxsize = 64
    _kubectl(env, "cordon", "localhost")  # pods stay Pending: Job creation is what is timed
    try:
        async with client.ApiClient(configuration) as api:
            row = await bench(api, env, args)
    finally:
        _kubectl(env, "uncordon", "localhost")
    print(json.dumps(row), flush=True)
    print(
        f"{row['who']}: p50 {row['p50']:.2f} s, p99 {row['p99']:.2f} s, max {row['max']:.2f} s, "
        f"missing {row['missing']}, doubled {row['doubled']}, takeover {row['takeover_s']:.1f} s; "
        f"RSS old leader {row['old_leader_rss_mb']:.0f} MB, "
        f"new leader {row['new_leader_rss_mb']:.0f} MB "
        f"({row['new_leader_rss_settled_mb']:.0f} MB {SETTLE:.0f} s later); "
        f"status writes by the new leader {row['new_leader_status_writes']:.0f}"
    )


if __name__ == "__main__":
    started = datetime.now(UTC)
    asyncio.run(main())
    print(f"(benchmark started {started:%Y-%m-%d %H:%M} UTC)")
