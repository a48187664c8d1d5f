"""``make chaos``: exactly once under faults, counted.

On the local stack (started if needed, and then stopped again; ``make dev``'s operators
must not run, they would launch the suite's jobs too), three operator replicas under one
Lease run the profile's workloads in a namespace of their own while the profile's faults
strike. Then every job is suspended, the runs allowed to finish, and the recorders'
ledgers are counted against the schedules (:mod:`hack.chaos.ledger`). One table is
printed; the exit status is non-zero on any loss, duplicate, overlap, ``maxRuns``
violation, two-leader sample or replica that crashed by itself (a replica that exits on
a lost Lease does so by design and is replaced, as a Deployment would).

    .venv/bin/python -m hack.chaos --profile short   # CI, about three minutes
    .venv/bin/python -m hack.chaos --profile long    # by hand, about twelve minutes
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import signal
import subprocess
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from kubernetes_asyncio import client, config

from almanac.core.plan import compile_spec
from almanac.core.resource import parse_spec
from hack.bench.operatorproc import running_dev_operators
from hack.chaos.hang import postgres_processes, signal_all
from hack.chaos.ledger import HistoryGaps, Kill, RunSeen, Workload, account, history_gaps, takeovers
from hack.chaos.profiles import PROFILES, SCRIPT, Fault, Profile, workloads
from hack.chaos.recorders import JobLedger, LeaderSampler, history_rows
from hack.chaos.replicas import Exit, Replicas

REPO = Path(__file__).resolve().parents[2]
STACK = REPO / "hack" / "stack"
KUBECTL = REPO / ".venv" / "bin" / "kubectl"
#: Slots this close to the stop are not required to have run (the suspend may win).
STOP_MARGIN = timedelta(seconds=10)
#: How long the runs get to finish after the stop.
SETTLE = 45.0
#: How long the run history gets to catch up with the Jobs after the settle.
HISTORY_WAIT = 60.0
#: How long a leader fault waits for a single leader to strike.
LEADER_WAIT = 20.0
#: How often the suite looks for replicas that ended by themselves.
REAP_EVERY = 0.5


def say(text: str) -> None:
    print(f"[chaos {time.strftime('%H:%M:%S')}] {text}", flush=True)


def _stack(*args: str) -> str:
    done = subprocess.run([STACK, *args], capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise SystemExit(f"hack/stack {' '.join(args)} failed: {done.stderr.strip()}")
    return done.stdout


def _kubectl(env: dict[str, str], *args: str, stdin: str | None = None) -> str:
    done = subprocess.run(
        [str(KUBECTL), *args],
        input=stdin,
        capture_output=True,
        text=True,
        check=False,
        env=dict(os.environ, KUBECONFIG=env["KUBECONFIG"]),
    )
    if done.returncode != 0:
        raise SystemExit(f"kubectl {' '.join(args)} failed: {done.stderr.strip()}")
    return done.stdout


def refuse_dev_operators(env: dict[str, str]) -> None:
    """Exit when ``make dev``'s operators run: they would launch the suite's jobs too."""
    running = running_dev_operators(env)
    if running:
        raise SystemExit(
            f"make dev's operators run ({', '.join(running)}): they would launch the suite's "
            "jobs too; 'make down' (or stop them) and run 'make chaos' again"
        )


def _template(env: dict[str, str]) -> dict[str, Any]:
    return {
        "apiVersion": "almanac.dev/v1alpha1",
        "kind": "JobTemplate",
        "metadata": {"name": "chaos-script"},
        "spec": {"image": env["ALMANAC_IMAGE"], "command": ["python3", "-c", SCRIPT]},
    }


async def _single_leader(sampler: LeaderSampler, replicas: Replicas) -> str | None:
    """The one replica leading now, waiting up to ``LEADER_WAIT`` for one (a fault right
    after a takeover or an API-server restart would otherwise find none and be lost)."""
    deadline = time.monotonic() + LEADER_WAIT
    while time.monotonic() < deadline:
        leader = sampler.leader()
        if leader is not None and leader in dict(replicas.ports()):
            return leader
        await asyncio.sleep(0.5)
    return None


async def _strike(
    fault: Fault, replicas: Replicas, sampler: LeaderSampler, kills: list[Kill]
) -> None:
    if fault.verb == "hang":
        pids = postgres_processes()
        signal_all(pids, signal.SIGSTOP)
        say(f"Postgres black-holed ({len(pids)} processes stopped) for {fault.lasting:.0f} s")
        try:
            await asyncio.sleep(fault.lasting)
        finally:
            signal_all(pids, signal.SIGCONT)
        say("Postgres answers again")
        return
    if fault.verb not in ("kill", "freeze"):
        say(f"{fault.verb} {fault.component}")
        await asyncio.to_thread(_stack, fault.verb, fault.component)
        return
    leader = await _single_leader(sampler, replicas)
    if leader is None:
        say(f"{fault.verb}: no single leader within {LEADER_WAIT:.0f} s, skipped")
        return
    kills.append(Kill(time.monotonic(), leader))
    if fault.verb == "freeze":
        replicas.freeze(leader)
        say(f"SIGSTOP {leader} (the leader) for {fault.lasting:.0f} s")
        await asyncio.sleep(fault.lasting)
        replicas.thaw(leader)
        say(f"SIGCONT {leader}: it must find its writes fenced and exit")
        return
    successor = replicas.kill(leader)
    say(f"SIGKILL {leader} (the leader); {successor} started")


async def _faults(
    profile: Profile, began: float, replicas: Replicas, sampler: LeaderSampler
) -> list[Kill]:
    """Each fault on time, also while a long one (a freeze, a hang) still lasts."""
    kills: list[Kill] = []
    striking = []
    for fault in profile.faults:
        await asyncio.sleep(max(0.0, began + fault.at - time.monotonic()))
        striking.append(asyncio.create_task(_strike(fault, replicas, sampler, kills)))
    await asyncio.gather(*striking)
    return kills


def _expected(job: dict[str, Any], stopped: datetime) -> Workload:
    spec = parse_spec(job["spec"])
    compiled = compile_spec(spec)
    assert compiled is not None
    created = datetime.fromisoformat(job["metadata"]["creationTimestamp"].replace("Z", "+00:00"))
    slots = compiled.slots_between(created, stopped - STOP_MARGIN, 10_000)
    max_runs = compiled.max_runs
    return Workload(job["metadata"]["name"], spec.overlap_policy.value, tuple(slots), max_runs)


async def _on_stack(profile: Profile) -> int:
    env: dict[str, str] = json.loads(_stack("env", "--json"))
    refuse_dev_operators(env)
    namespace = f"chaos-{uuid.uuid4().hex[:6]}"
    # Outside the stack's directory: a stack this suite started is removed when it stops.
    logs = REPO / "build" / "chaos" / namespace
    logs.mkdir(parents=True, exist_ok=True)
    # The stack has no CRDs until something applies them (make dev, the test suites).
    _kubectl(env, "apply", "--server-side", "--force-conflicts", "-f", str(REPO / "crds"))
    crd = "crd/scheduledjobs.almanac.dev"
    _kubectl(env, "wait", "--for=condition=Established", "--timeout=60s", crd)
    _kubectl(env, "create", "namespace", namespace)
    await config.load_kube_config(config_file=env["KUBECONFIG"])
    replicas = Replicas(env, namespace, logs)
    try:
        async with client.ApiClient() as api:
            return await _run(api, env, namespace, profile, replicas)
    finally:
        replicas.stop_all()
        _kubectl(env, "delete", "namespace", namespace, "--wait=false")
        say(f"operator logs: {logs}")


async def _history(env: dict[str, str], namespace: str, runs: list[RunSeen]) -> HistoryGaps:
    """The history's gaps once they are gone, or as they stand after ``HISTORY_WAIT``
    (rows are written behind the runs, through a buffer)."""
    deadline = time.monotonic() + HISTORY_WAIT
    while True:
        gaps = history_gaps(runs, await history_rows(env["ALMANAC_DATABASE_URL"], namespace))
        if gaps.total == 0 or time.monotonic() > deadline:
            return gaps
        await asyncio.sleep(2)


async def _supervise(replicas: Replicas, exits: list[Exit]) -> None:
    """Replace replicas that ended by themselves, and say why each ended."""
    while True:
        for ended in replicas.reap():
            exits.append(ended)
            why = "lost the Lease (by design)" if ended.lease_lost else "CRASHED"
            say(f"{ended.identity} exited {ended.code}: {why}; replaced")
        await asyncio.sleep(REAP_EVERY)


def _crashes(exits: list[Exit]) -> int:
    """Print the crashes' log tails; how many there were."""
    crashed = [e for e in exits if not e.lease_lost]
    for ended in crashed:
        print(f"--- {ended.identity} exited {ended.code}, last lines of its log:\n{ended.tail}")
    lost = len(exits) - len(crashed)
    print(f"replicas that exited on a lost Lease and were replaced: {lost}")
    if crashed:
        print(f"FAILED: replicas that crashed: {', '.join(e.identity for e in crashed)}")
    return len(crashed)


async def _run(
    api: client.ApiClient, env: dict[str, str], namespace: str, profile: Profile, replicas: Replicas
) -> int:
    ledger, sampler = JobLedger(api, namespace), LeaderSampler(replicas.ports)
    exits: list[Exit] = []
    replicas.start_all()
    recording = [
        asyncio.create_task(ledger.run()),
        asyncio.create_task(sampler.run()),
        asyncio.create_task(_supervise(replicas, exits)),
    ]
    manifests = [_template(env), *workloads(profile)]
    items = json.dumps({"apiVersion": "v1", "kind": "List", "items": manifests})
    _kubectl(env, "-n", namespace, "apply", "-f", "-", stdin=items)
    began = time.monotonic()
    say(f"{len(manifests) - 1} jobs in {namespace}, {profile.duration:.0f} s of faults")
    kills = await _faults(profile, began, replicas, sampler)
    await asyncio.sleep(max(0.0, began + profile.duration - time.monotonic()))
    stopped = datetime.now(UTC)
    suspend = '{"spec":{"suspend":true}}'
    for manifest in manifests[1:]:
        name = manifest["metadata"]["name"]
        _kubectl(env, "-n", namespace, "patch", "scheduledjob", name, "--type=merge", "-p", suspend)
    listed = _kubectl(env, "-n", namespace, "get", "scheduledjobs", "-o", "json")
    jobs = json.loads(listed)["items"]
    say(f"stopped; {SETTLE:.0f} s for the runs to finish")
    await asyncio.sleep(SETTLE)
    await ledger.settle()
    for task in recording:
        task.cancel()
    runs = ledger.runs()
    report = account(
        [_expected(j, stopped) for j in jobs],
        runs,
        [leaders for _, leaders in sampler.samples],
        takeovers(kills, sampler.samples),
        history=await _history(env, namespace, runs),
    )
    print(report.table())
    crashed = _crashes(exits)
    return 0 if report.ok and not crashed else 1


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--profile", choices=sorted(PROFILES), default="short")
    profile = PROFILES[parser.parse_args().profile]
    say(f"{profile.duration:.0f} s, {len(profile.faults)} faults")
    was_running = subprocess.run([STACK, "env"], capture_output=True, check=False).returncode == 0
    _stack("up")
    try:
        code = asyncio.run(_on_stack(profile))
    finally:
        if not was_running:  # as the test suites do: a stack started here is stopped
            _stack("down")
    raise SystemExit(code)
