"""Event-trigger benchmark: events produced on Kafka to Jobs created, at a steady rate.

Run by hand on a quiet stack (``make stack``, not ``make dev``)::

    .venv/bin/python -m hack.bench.trigger_bench --events 1000 --rate 100

One operator (default settings, its own consumer group) watches a fresh namespace with one
trigger-only ScheduledJob on a fresh topic. The benchmark produces ``--events`` events at
``--rate`` per second, each with a unique id, and re-sends ``--duplicates`` of them (same
id: a redelivery). A Job watch records when each event's Job appears. Printed: trigger
latency (Job seen minus event produced) p50/p99/max, Jobs missing after the window, Jobs
doubled (must be 0), the operator's peak consumer lag, CPU and RSS. The node is cordoned
(pods stay Pending) as for the schedule-lag benchmark, and uncordoned at the end. Kubernetes
has no event-triggered controller to compare with; the target is p99 ≤ 1 s at 100 events/s.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import random
import subprocess
import tempfile
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from aiokafka import AIOKafkaProducer
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from kubernetes_asyncio import client, config

from hack.bench.ceiling import _delete_namespace, _namespace
from hack.bench.jobseen import FirstSeen, watch_first_seen
from hack.bench.lag import (
    REPO,
    _env,
    _free_port,
    _kubectl,
    _metric,
    _proc_stats,
    _start_operator,
    _summary,
)

WINDOW = 60.0


def _scheduled_job(topic: str) -> dict[str, Any]:
    return {
        "apiVersion": "almanac.dev/v1alpha1",
        "kind": "ScheduledJob",
        "metadata": {"name": "on-event"},
        "spec": {
            "template": "command",
            "params": {"command": ["true"]},
            "triggers": [
                {
                    "name": "bench",
                    "kafka": {"topic": topic, "filter": 'event.type == "bench"', "key": "event.n"},
                    "params": {"env": '{"N": string(event.n)}'},
                }
            ],
        },
    }


def _event_jobs(seen: dict[str, dict[str, float]], first: asyncio.Event) -> FirstSeen:
    """Event id → its Jobs and when each was first seen (two Jobs = a doubled run)."""

    def record(job: dict[str, Any], at: float) -> None:
        meta = job.get("metadata") or {}
        event_id = (meta.get("annotations") or {}).get("almanac.dev/event-id")
        if event_id:
            seen.setdefault(event_id, {})[meta["name"]] = at
            first.set()

    return record


async def _produce(
    bootstrap: str,
    topic: str,
    produced: dict[str, float],
    *,
    events: int,
    rate: float,
    duplicates: int,
    prefix: str = "bench",
) -> None:
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all", linger_ms=0)
    await producer.start()
    try:
        started = time.monotonic()
        again = set(random.sample(range(events), duplicates))
        for i in range(events):
            # Paced by the clock, not by sleeps that accumulate drift.
            await asyncio.sleep(max(0.0, started + i / rate - time.monotonic()))
            event_id = f"{prefix}-{i}"
            value = json.dumps({"id": event_id, "type": "bench", "n": i}).encode()
            produced[event_id] = time.time()
            await producer.send_and_wait(topic, value)
            if i in again:
                await producer.send_and_wait(topic, value)
    finally:
        await producer.stop()


async def _create_topic(bootstrap: str) -> str:
    topic = f"bench-{uuid.uuid4().hex[:8]}"
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        await admin.create_topics([NewTopic(topic, num_partitions=1, replication_factor=1)])
    finally:
        await admin.close()
    return topic


@dataclass
class _Run:
    """What one benchmark run follows."""

    args: argparse.Namespace
    operator: subprocess.Popen[bytes]
    port: int
    seen: dict[str, dict[str, float]] = field(default_factory=dict)
    produced: dict[str, float] = field(default_factory=dict)
    first: asyncio.Event = field(default_factory=asyncio.Event)


async def _measure(bootstrap: str, topic: str, run: _Run) -> dict[str, Any]:
    """Warm up with one event, then produce the burst and follow Jobs and consumer lag."""
    args = run.args
    await _produce(bootstrap, topic, {}, events=1, rate=1.0, duplicates=0, prefix="warm-up")
    await asyncio.wait_for(run.first.wait(), 120)
    run.seen.clear()
    cpu0, _ = _proc_stats(run.operator.pid)
    lag_peak = 0.0
    producing = asyncio.create_task(
        _produce(
            bootstrap,
            topic,
            run.produced,
            events=args.events,
            rate=args.rate,
            duplicates=args.duplicates,
        )
    )
    deadline = time.monotonic() + args.events / args.rate + WINDOW
    while time.monotonic() < deadline:
        if producing.done() and len(run.seen) >= args.events:
            break
        lag_peak = max(lag_peak, _metric(run.port, "almanac_trigger_consumer_lag"))
        with contextlib.suppress(TimeoutError):  # sample the lag metric 4 times a second
            await asyncio.wait_for(asyncio.shield(producing), 0.25)
    await producing
    cpu1, rss = _proc_stats(run.operator.pid)
    lags = [
        min(jobs.values()) - run.produced[i] for i, jobs in run.seen.items() if i in run.produced
    ]
    return _summary(lags, args.events) | {
        "who": f"Almanac triggers @ {args.rate:g}/s",
        "doubled": sum(len(jobs) > 1 for jobs in run.seen.values()),
        "duplicates_sent": args.duplicates,
        "lag_peak": lag_peak,
        "cpu": round(cpu1 - cpu0, 1),
        "rss": round(rss),
    }


async def bench(env: dict[str, str], args: argparse.Namespace) -> dict[str, Any]:
    configuration = client.Configuration()
    await config.load_kube_config(config_file=env["KUBECONFIG"], client_configuration=configuration)
    bootstrap = env["ALMANAC_KAFKA_BOOTSTRAP"]
    topic = await _create_topic(bootstrap)
    async with client.ApiClient(configuration) as api:
        core = client.CoreV1Api(api)
        ns = await _namespace(core, "bench-trig")
        port = _free_port()
        log = Path(tempfile.mkdtemp()) / "operator.log"
        operator = _start_operator(env | {"ALMANAC_TRIGGER_GROUP": f"bench-{topic}"}, ns, log, port)
        run = _Run(args, operator, port)
        watching = asyncio.create_task(watch_first_seen(api, ns, _event_jobs(run.seen, run.first)))
        try:
            await client.CustomObjectsApi(api).create_namespaced_custom_object(
                "almanac.dev", "v1alpha1", ns, "scheduledjobs", _scheduled_job(topic)
            )
            row = await _measure(bootstrap, topic, run)
        finally:
            watching.cancel()
            operator.terminate()
            try:
                operator.wait(30)
            except subprocess.TimeoutExpired:
                print("the operator did not stop within 30 s of SIGTERM; killed")
                operator.kill()
            print(f"operator log: {log}")
            await _delete_namespace(core, ns)  # its pods would load the next run
    return row


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--events", type=int, default=1000)
    parser.add_argument("--rate", type=float, default=100.0, help="events per second")
    parser.add_argument("--duplicates", type=int, default=50, help="events sent twice")
    args = parser.parse_args()
    env = _env()
    _kubectl(env, "apply", "--server-side", "--force-conflicts", "-f", str(REPO / "crds"))
    _kubectl(env, "cordon", "localhost")
    try:
        row = await bench(env, args)
    finally:
        _kubectl(env, "uncordon", "localhost")
    print(json.dumps(row))
    print(
        f"\n{row['who']}: {row['created']}/{row['n']} Jobs, missing {row['missing']}, "
        f"doubled {row['doubled']} ({row['duplicates_sent']} events sent twice)\n"
        f"event produced -> Job seen: p50 {row['p50']:.3f} s, p99 {row['p99']:.3f} s, "
        f"max {row['max']:.3f} s; peak consumer lag {row['lag_peak']:.0f}; "
        f"operator CPU {row['cpu']} s, RSS {row['rss']} MB"
    )


if __name__ == "__main__":
    asyncio.run(main())
