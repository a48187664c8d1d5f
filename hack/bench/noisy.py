"""Noisy-tenant benchmark: one tenant's worst triggers against another tenant's schedule lag.

Run by hand on a quiet stack (``make stack``, not ``make dev``)::

    .venv/bin/python -m hack.bench.noisy --jobs 100 --rate 5 --runs 3

One operator (default settings) watches two fresh namespaces. The quiet one holds
``--jobs`` ScheduledJobs all due at the same minute, as in :mod:`hack.bench.lag`. Each run
is measured twice: once alone, once while the noisy namespace is busy - a trigger with the
heaviest filter admission allows (one ``map`` over the event's items, cut at the evaluation
deadline), a trigger whose mapped param is over the 64 KiB cap (always refused), both fed
``--rate`` 26 KiB events per second from 20 s before the minute to the end of the window.
Printed per run: the quiet namespace's lag p50/p99 (Job seen by a watch minus its slot),
Jobs missing after 60 s, and the ratio noisy/quiet of the p99. The node is cordoned
throughout (pods stay Pending) and uncordoned at the end.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import time
from pathlib import Path
from typing import Any

from aiokafka import AIOKafkaProducer
from kubernetes_asyncio import client, config

from hack.bench.ceiling import _delete_namespace, _namespace
from hack.bench.jobseen import watch_first_seen
from hack.bench.lag import (
    REPO,
    WINDOW,
    _boundary_jobs,
    _create_scheduled_jobs,
    _cron_for,
    _env,
    _free_port,
    _kubectl,
    _next_minute,
    _start_operator,
    _summary,
)
from hack.bench.trigger_bench import _create_topic

#: The heaviest filter admission allows: one comprehension, over the event's items.
HEAVY_FILTER = "size(event.items.map(b, b + b)) > 0"
#: Items of each noisy event: about 26 KiB of JSON, under the 32 KiB event cap.
ITEMS = 4_500


def _noisy_jobs(topic: str) -> list[dict[str, Any]]:
    def job(name: str, trigger: dict[str, Any]) -> dict[str, Any]:
        return {
            "apiVersion": "almanac.dev/v1alpha1",
            "kind": "ScheduledJob",
            "metadata": {"name": name},
            "spec": {
                "template": "command",
                "params": {"command": ["true"]},
                "triggers": [trigger],
            },
        }

    return [
        job("heavy", {"name": "heavy", "kafka": {"topic": topic, "filter": HEAVY_FILTER}}),
        job(
            "bloated",
            {
                "name": "bloated",
                "kafka": {"topic": topic},
                "params": {"blob": 'event.items.map(i, string(i) + "-padding-padding")'},
            },
        ),
    ]


async def _flood(bootstrap: str, topic: str, rate: float, until: float) -> int:
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks=1, linger_ms=0)
    await producer.start()
    sent = 0
    try:
        started = time.monotonic()
        while time.time() < until:
            await asyncio.sleep(max(0.0, started + sent / rate - time.monotonic()))
            value = {"id": f"noise-{sent}", "type": "noise", "items": list(range(ITEMS))}
            await producer.send_and_wait(topic, json.dumps(value).encode())
            sent += 1
    finally:
        await producer.stop()
    return sent


async def _one_run(
    api: client.ApiClient, env: dict[str, str], args: argparse.Namespace, noisy: bool, log: Path
) -> dict[str, Any]:
    core = client.CoreV1Api(api)
    custom = client.CustomObjectsApi(api)
    quiet_ns = await _namespace(core, "bench-quiet")
    noisy_ns = await _namespace(core, "bench-noisy")
    topic = await _create_topic(env["ALMANAC_KAFKA_BOOTSTRAP"])
    group = {"ALMANAC_TRIGGER_GROUP": f"bench-{topic}"}
    operator = _start_operator(
        env | group, quiet_ns, log, _free_port(), watch=f"{quiet_ns},{noisy_ns}"
    )
    try:
        boundary = _next_minute(margin=30 + args.jobs / 100)
        await _create_scheduled_jobs(api, quiet_ns, args.jobs, _cron_for(boundary))
        for body in _noisy_jobs(topic):
            await custom.create_namespaced_custom_object(
                "almanac.dev", "v1alpha1", noisy_ns, "scheduledjobs", body
            )
        seen: dict[str, float] = {}
        watcher = asyncio.create_task(
            watch_first_seen(api, quiet_ns, _boundary_jobs(seen, boundary))
        )
        flood = None
        if noisy:
            await asyncio.sleep(max(0.0, boundary - 20 - time.time()))
            flood = asyncio.create_task(
                _flood(env["ALMANAC_KAFKA_BOOTSTRAP"], topic, args.rate, boundary + WINDOW)
            )
        await asyncio.sleep(max(0.0, boundary + WINDOW - time.time()))
        watcher.cancel()
        sent = await flood if flood is not None else 0
        lags = [t - boundary for t in seen.values()]
        return _summary(lags, args.jobs) | {"who": "noisy" if noisy else "quiet", "events": sent}
    finally:
        operator.terminate()
        with contextlib.suppress(Exception):
            operator.wait(30)
        await _delete_namespace(core, quiet_ns)
        await _delete_namespace(core, noisy_ns)


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--jobs", type=int, default=100)
    parser.add_argument("--rate", type=float, default=5.0, help="noisy events per second")
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    env = _env()
    logs = Path(env["ALMANAC_STACK_DIR"]) / "logs" / "bench"
    logs.mkdir(parents=True, exist_ok=True)
    configuration = client.Configuration()
    await config.load_kube_config(config_file=env["KUBECONFIG"], client_configuration=configuration)
    _kubectl(env, "apply", "--server-side", "--force-conflicts", "-f", str(REPO / "crds"))
    _kubectl(env, "cordon", "localhost")
    pairs: list[tuple[dict[str, Any], dict[str, Any]]] = []
    try:
        async with client.ApiClient(configuration) as api:
            for run in range(args.runs):
                quiet = await _one_run(api, env, args, False, logs / f"noisy-q{run}.log")
                print(json.dumps(quiet), flush=True)
                loud = await _one_run(api, env, args, True, logs / f"noisy-n{run}.log")
                print(json.dumps(loud), flush=True)
                pairs.append((quiet, loud))
    finally:
        _kubectl(env, "uncordon", "localhost")
    print(
        f"\n{'run':>3} {'quiet p50':>9} {'quiet p99':>9} {'noisy p50':>9} {'noisy p99':>9} "
        f"{'missing':>7} {'events':>6} {'p99 ratio':>9}"
    )
    for i, (quiet, loud) in enumerate(pairs):
        print(
            f"{i:>3} {quiet['p50']:9.2f} {quiet['p99']:9.2f} {loud['p50']:9.2f} "
            f"{loud['p99']:9.2f} {quiet['missing'] + loud['missing']:>7} {loud['events']:>6} "
            f"{loud['p99'] / quiet['p99']:9.2f}"
        )


if __name__ == "__main__":
    asyncio.run(main())
