"""Schedule-lag benchmark: Almanac against the built-in CronJob controller.

Run by hand on a quiet stack (``make stack``, not ``make dev``: no other operator may
watch the benchmark's namespaces)::

    .venv/bin/python -m hack.bench.lag --sizes 100 1000 --idle 10000

or, with ``--on-dev``, on ``make dev``: the ScheduledJobs are launched by the stack's own two
replicas (history and notifications on), whose CPU is summed; no operator is started::

    .venv/bin/python -m hack.bench.lag --on-dev --skip-cron --idle 0

For each N it makes N schedules that are all due in the same minute, first as CronJobs
(the stack's kube-controller-manager, default settings), then as ScheduledJobs (one
Almanac operator at default settings), and measures lag = the moment a watch sees the Job
minus its slot: p50/p99/max and Jobs missing after 60 s, plus the operator's CPU and RSS.
It also measures the raw Job-create rate of a tight client (the ceiling) and the
operator's RSS and start-up time with ``--idle`` idle ScheduledJobs. The node is cordoned
throughout (pods stay Pending), as for the reference figures, and uncordoned at the end.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import subprocess
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from kubernetes_asyncio import client, config

from hack.bench.ceiling import (
    CONCURRENCY,
    _bounded,
    _delete_namespace,
    _namespace,
    _pod_template,
    bench_ceiling,
    bench_ceiling_same_jobs,
)
from hack.bench.jobseen import FirstSeen, watch_first_seen
from hack.bench.lagreport import print_table
from hack.bench.operatorproc import (
    dev_operator_pids,
    free_port,
    metric,
    proc_stats,
    start_operator,
)

REPO = Path(__file__).resolve().parents[2]
WINDOW = 60.0
SETTLE = 30.0

# noisy and trigger_bench import the operator-process helpers from here by these names.
_free_port, _metric, _proc_stats = free_port, metric, proc_stats
_start_operator = start_operator


def _env() -> dict[str, str]:
    out = subprocess.run(
        [REPO / "hack" / "stack", "env", "--json"], capture_output=True, text=True, check=True
    )
    env: dict[str, str] = json.loads(out.stdout)
    return env


def _boundary_jobs(seen: dict[str, float], boundary: float) -> FirstSeen:
    """Record when each Job of the ``boundary`` slot first appears in the watch."""

    def record(job: dict[str, Any], at: float) -> None:
        if _scheduled_at(job) == int(boundary):
            seen.setdefault(job["metadata"]["name"], at)

    return record


def _scheduled_at(job: dict[str, Any]) -> int | None:
    """The slot a Job runs: Almanac's slot label or the CronJob controller's annotation."""
    meta = job.get("metadata") or {}
    labels = meta.get("labels") or {}
    if "almanac.dev/slot" in labels:
        return int(labels["almanac.dev/slot"])
    stamp = (meta.get("annotations") or {}).get("batch.kubernetes.io/cronjob-scheduled-timestamp")
    if stamp:
        return int(datetime.fromisoformat(stamp.replace("Z", "+00:00")).timestamp())
    return None


def _cron_for(boundary: float) -> str:
    """Due at the boundary's minute only, so no earlier minute fires while we set up."""
    return f"{datetime.fromtimestamp(boundary, UTC).minute} * * * *"


def _next_minute(margin: float) -> float:
    """The next minute boundary at least ``margin`` seconds away."""
    now = time.time()
    boundary = (int(now // 60) + 1) * 60
    return boundary if boundary - now >= margin else boundary + 60


def _summary(lags: list[float], n: int) -> dict[str, Any]:
    lags.sort()

    def pick(q: float) -> float:
        return lags[min(len(lags) - 1, int(q * len(lags)))] if lags else float("nan")

    return {
        "n": n,
        "created": len(lags),
        "missing": n - len(lags),
        "p50": pick(0.50),
        "p99": pick(0.99),
        "max": lags[-1] if lags else float("nan"),
    }


async def bench_cronjobs(api: client.ApiClient, n: int) -> dict[str, Any]:
    core, batch = client.CoreV1Api(api), client.BatchV1Api(api)
    ns = await _namespace(core, "bench-cron")
    boundary = _next_minute(margin=15 + n / 100)
    try:
        await _bounded(
            lambda i: batch.create_namespaced_cron_job(
                ns,
                {
                    "metadata": {"name": f"c{i}"},
                    "spec": {
                        "schedule": _cron_for(boundary),
                        "concurrencyPolicy": "Forbid",
                        "jobTemplate": {"spec": {"backoffLimit": 0, "template": _pod_template()}},
                    },
                },
            ),
            n,
        )
        seen: dict[str, float] = {}
        watcher = asyncio.create_task(watch_first_seen(api, ns, _boundary_jobs(seen, boundary)))
        await asyncio.sleep(max(0.0, boundary + WINDOW - time.time()))
        watcher.cancel()
        lags = [t - boundary for t in seen.values()]
        return _summary(lags, n) | {"who": "CronJob (default)"}
    finally:
        await _delete_namespace(core, ns)


def _scheduled_job(i: int, cron: str) -> dict[str, Any]:
    return {
        "apiVersion": "almanac.dev/v1alpha1",
        "kind": "ScheduledJob",
        "metadata": {"name": f"s{i}"},
        "spec": {
            "template": "command",
            "params": {"command": ["true"]},
            "schedule": {"cron": cron},
            "overlapPolicy": "Allow",
        },
    }


async def _create_scheduled_jobs(api: client.ApiClient, ns: str, n: int, cron: str) -> None:
    custom = client.CustomObjectsApi(api)
    await _bounded(
        lambda i: custom.create_namespaced_custom_object(
            "almanac.dev", "v1alpha1", ns, "scheduledjobs", _scheduled_job(i, cron)
        ),
        n,
    )


TUNED = ["--kube-api-qps=500", "--kube-api-burst=1000", "--concurrent-cron-job-syncs=50"]


async def bench_cronjobs_tuned(api: client.ApiClient, n: int) -> dict[str, Any]:
    """The same, with kube-controller-manager restarted with the tuned flags (then reset)."""
    _stack("restart", "kube-controller-manager", "--", *TUNED)
    try:
        return await bench_cronjobs(api, n) | {"who": "CronJob (tuned)"}
    finally:
        _stack("restart", "kube-controller-manager")


def _stack(*args: str) -> None:
    subprocess.run([REPO / "hack" / "stack", *args], check=True, capture_output=True)


async def bench_almanac(
    api: client.ApiClient, env: dict[str, str], n: int, logs: Path, *, on_dev: bool = False
) -> dict[str, Any]:
    core = client.CoreV1Api(api)
    ns = await _namespace(core, "bench-sj")
    log = logs / f"operator-{n}.log"
    operator = None if on_dev else start_operator(env, ns, log, free_port())
    pids = dev_operator_pids(env) if operator is None else [operator.pid]
    try:
        boundary = _next_minute(margin=15 + n / 100)
        await _create_scheduled_jobs(api, ns, n, _cron_for(boundary))
        cpu_before = sum(proc_stats(pid)[0] for pid in pids)
        seen: dict[str, float] = {}
        watcher = asyncio.create_task(watch_first_seen(api, ns, _boundary_jobs(seen, boundary)))
        await asyncio.sleep(max(0.0, boundary + WINDOW - time.time()))
        watcher.cancel()
        stats = [proc_stats(pid) for pid in pids]
        lags = [t - boundary for t in seen.values()]
        return _summary(lags, n) | {
            "who": "Almanac (default)",
            "cpu_s": sum(cpu for cpu, _ in stats) - cpu_before,
            "rss_mb": max(rss for _, rss in stats),
        }
    finally:
        if operator is not None:
            operator.terminate()
            operator.wait(30)
        await _delete_namespace(core, ns)


async def bench_idle(
    api: client.ApiClient, env: dict[str, str], n: int, logs: Path
) -> dict[str, Any]:
    core = client.CoreV1Api(api)
    ns = await _namespace(core, "bench-idle")
    try:
        await _create_scheduled_jobs(api, ns, n, "0 0 1 1 *")
        began = time.monotonic()
        port = free_port()
        operator = start_operator(env, ns, logs / "operator-idle.log", port)
        try:
            # Ready when every object has been reconciled once (one status write each).
            while metric(port, "almanac_status_writes_total") < n:
                if time.monotonic() - began > 600:
                    break
                await asyncio.sleep(1)
            took = time.monotonic() - began
            _, rss = proc_stats(operator.pid)
            await asyncio.sleep(SETTLE)  # and once the first pass's garbage is collected
            _, settled = proc_stats(operator.pid)
            return {
                "who": f"{n} idle ScheduledJobs",
                "startup_s": took,
                "rss_mb": rss,
                "rss_settled_mb": settled,
            }
        finally:
            operator.terminate()
            operator.wait(30)
    finally:
        await _delete_namespace(core, ns)


def _kubectl(env: dict[str, str], *args: str) -> None:
    subprocess.run(
        [REPO / ".venv" / "bin" / "kubectl", *args],
        check=True,
        env=dict(os.environ, KUBECONFIG=env["KUBECONFIG"]),
        capture_output=True,
    )


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sizes", type=int, nargs="*", default=[100, 1000])
    parser.add_argument("--idle", type=int, default=10000)
    parser.add_argument("--skip-cron", action="store_true", help="skip the default CronJob run")
    parser.add_argument(
        "--tuned", action="store_true", help="also run CronJobs with a tuned controller-manager"
    )
    parser.add_argument(
        "--on-dev",
        action="store_true",
        help="time make dev's running replicas instead of starting an operator",
    )
    args = parser.parse_args()
    env = _env()
    logs = Path(env["ALMANAC_STACK_DIR"]) / "logs" / "bench"
    logs.mkdir(parents=True, exist_ok=True)
    configuration = client.Configuration()
    await config.load_kube_config(config_file=env["KUBECONFIG"], client_configuration=configuration)
    configuration.connection_pool_maxsize = CONCURRENCY * 2
    rows: list[dict[str, Any]] = []
    _kubectl(env, "apply", "--server-side", "--force-conflicts", "-f", str(REPO / "crds"))
    _kubectl(
        env, "wait", "--for=condition=Established", "--timeout=60s", "crd/scheduledjobs.almanac.dev"
    )
    _kubectl(env, "cordon", "localhost")
    try:
        async with client.ApiClient(configuration) as api:
            for n in args.sizes:
                rows.append(await bench_ceiling(api, n))
                print(json.dumps(rows[-1]), flush=True)
                rows.append(await bench_ceiling_same_jobs(api, n))
                print(json.dumps(rows[-1]), flush=True)
                if not args.skip_cron:
                    rows.append(await bench_cronjobs(api, n))
                    print(json.dumps(rows[-1]), flush=True)
                if args.tuned:
                    rows.append(await bench_cronjobs_tuned(api, n))
                    print(json.dumps(rows[-1]), flush=True)
                rows.append(await bench_almanac(api, env, n, logs, on_dev=args.on_dev))
                print(json.dumps(rows[-1]), flush=True)
            if args.idle:
                rows.append(await bench_idle(api, env, args.idle, logs))
                print(json.dumps(rows[-1]), flush=True)
    finally:
        _kubectl(env, "uncordon", "localhost")
    print_table(rows, SETTLE)


if __name__ == "__main__":
    started = datetime.now(UTC)
    asyncio.run(main())
    print(f"(benchmark started {started:%Y-%m-%d %H:%M} UTC)")
