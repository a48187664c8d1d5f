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
import dataclasses
import json
import os
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
from hack.chaos.asked import (
    AskedRow,
    after_row,
    asked_table,
    event_rows,
    made_row,
    missing_notices,
    request_row,
)
from hack.chaos.driver import Driver, made_name
from hack.chaos.executions import ExecutionLedger, execution_gaps
from hack.chaos.facade import Facade, FacadeClient
from hack.chaos.faults import Targets, strike_all
from hack.chaos.ledger import HistoryGaps, RunSeen, Workload, account, history_gaps, takeovers
from hack.chaos.profiles import (
    EVENT_DELAY,
    PROFILES,
    SCHEDULED,
    SCRIPT,
    SEQUENCE,
    Profile,
    workloads,
)
from hack.chaos.recorders import JobLedger, LeaderSampler, history_rows
from hack.chaos.replicas import Exit, Replicas
from hack.chaos.tap import KafkaTap
from hack.localstack.settings import GATEWAY

REPO = Path(__file__).resolve().parents[2]
STACK = REPO / "hack" / "stack"
KUBECTL = REPO / ".venv" / "bin" / "kubectl"
#: Slots this close to the stop are not required to have run (the suspend may win).
STOP_MARGIN = timedelta(seconds=10)
#: How long the runs get to finish after the stop.
SETTLE = 25.0
#: Quiescence: no new Job for this long, and every Job finished (within ``QUIESCE_WITHIN``).
QUIET = 20.0
QUIESCE_WITHIN = 240.0
#: How long the run history gets to catch up with the Jobs after the settle.
HISTORY_WAIT = 60.0
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


def _template(env: dict[str, str], ledger_url: str) -> dict[str, Any]:
    command = ["python3", "-c", SCRIPT, ledger_url]
    return {
        "apiVersion": "almanac.dev/v1alpha1",
        "kind": "JobTemplate",
        "metadata": {"name": "chaos-script"},
        "spec": {"image": env["ALMANAC_IMAGE"], "command": command},
    }


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
    org = f"{uuid.uuid4().int % 10**6:06d}"
    namespace = f"chaos-{org}"  # the facade's pattern: chaos-{org_id}
    # Outside the stack's directory: a stack this suite started is removed when it stops.
    logs = REPO / "build" / "chaos" / namespace
    logs.mkdir(parents=True, exist_ok=True)
    # The stack has no CRDs until something applies them (make dev, the test suites).
    _kubectl(env, "apply", "--server-side", "--force-conflicts", "-f", str(REPO / "crds"))
    crd = "crd/scheduledjobs.almanac.dev"
    _kubectl(env, "wait", "--for=condition=Established", "--timeout=60s", crd)
    _kubectl(env, "create", "namespace", namespace)
    _kubectl(env, "label", "namespace", namespace, f"almanac.dev/org-id={org}")
    await config.load_kube_config(config_file=env["KUBECONFIG"])
    replicas = Replicas(env, namespace, logs)
    facade = Facade(env, logs)
    try:
        facade.start()
        await asyncio.to_thread(facade.wait_ready)
        async with client.ApiClient() as api:
            return await _run(api, env, org, profile, replicas=replicas, facade=facade)
    finally:
        facade.stop()
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


def _asked_rows(driver: Driver, runs: list[RunSeen], stopped: datetime) -> list[AskedRow]:
    by_job: dict[str, list[RunSeen]] = {}
    for run in runs:
        by_job.setdefault(run.scheduledjob, []).append(run)
    manual = by_job.get("manual-1", [])
    return [
        request_row("run-now", driver.manual, [r for r in manual if r.trigger == "manual"]),
        request_row("retry", driver.retries, [r for r in manual if r.trigger == "retry"]),
        *event_rows(driver.events, by_job, timedelta(seconds=EVENT_DELAY), len(SEQUENCE)),
        after_row("chain-1", by_job.get("allow-1", []), by_job.get("chain-1", []), stopped),
    ]


def _made(listed: dict[str, Any]) -> dict[str, list[str]]:
    """Display name to the uids of the ScheduledJobs the facade made under it."""
    made: dict[str, list[str]] = {}
    for obj in listed["items"]:
        name = (obj["metadata"].get("annotations") or {}).get("almanac.dev/display-name")
        if name:
            made.setdefault(name, []).append(obj["metadata"]["uid"])
    return made


def _keep(logs: Path, runs: list[RunSeen], driver: Driver) -> None:
    """What the recorders saw, beside the logs, for a look after a failed run."""
    seen = {
        "runs": [dataclasses.asdict(r) for r in runs],
        "run_now": [dataclasses.asdict(a) for a in driver.manual],
        "retries": [dataclasses.asdict(a) for a in driver.retries],
        "events": [dataclasses.asdict(e) for e in driver.events],
        "creates": [dataclasses.asdict(a) for a in driver.creates],
    }
    (logs / "ledger.json").write_text(json.dumps(seen, indent=1, default=str))


async def _notices(tap: KafkaTap, runs: list[RunSeen]) -> int:
    """Finished runs whose lifecycle event the tap has not read, once there are none or
    after ``HISTORY_WAIT`` (the outbox relays behind the history)."""
    deadline = time.monotonic() + HISTORY_WAIT
    while True:
        missing = missing_notices(runs, tap.types)
        if not missing or time.monotonic() > deadline:
            return missing
        await asyncio.sleep(2)


async def _run(
    api: client.ApiClient,
    env: dict[str, str],
    org: str,
    profile: Profile,
    *,
    replicas: Replicas,
    facade: Facade,
) -> int:
    namespace = f"chaos-{org}"
    ledger, sampler = JobLedger(api, namespace), LeaderSampler(replicas.ports)
    tap = KafkaTap(env["ALMANAC_KAFKA_BOOTSTRAP"], namespace)
    executions = ExecutionLedger(GATEWAY)
    await executions.start()
    exits: list[Exit] = []
    replicas.start_all()
    recording = [
        asyncio.create_task(ledger.run()),
        asyncio.create_task(sampler.run()),
        asyncio.create_task(tap.run()),
        asyncio.create_task(_supervise(replicas, exits)),
    ]
    manifests = [_template(env, executions.url), *workloads(profile)]
    items = json.dumps({"apiVersion": "v1", "kind": "List", "items": manifests})
    _kubectl(env, "-n", namespace, "apply", "-f", "-", stdin=items)
    manual = _kubectl(env, "-n", namespace, "get", "scheduledjob", "manual-1", "-o", "json")
    driver = Driver(
        FacadeClient(facade, org),
        json.loads(manual)["metadata"]["uid"],
        ledger,
        beat=profile.beat,
    )
    began = time.monotonic()
    say(f"{len(manifests) - 1} jobs in {namespace}, {profile.duration:.0f} s of faults")
    asking = asyncio.create_task(driver.run(began + profile.duration))
    targets = Targets(replicas, sampler, facade, _stack, say)
    await strike_all(profile, began, targets)
    await asyncio.sleep(max(0.0, began + profile.duration - time.monotonic()))
    stopped = datetime.now(UTC)
    suspend = '{"spec":{"suspend":true}}'
    scheduled = [
        m["metadata"]["name"] for m in manifests if m["metadata"]["name"].startswith(SCHEDULED)
    ]
    for name in scheduled:
        _kubectl(env, "-n", namespace, "patch", "scheduledjob", name, "--type=merge", "-p", suspend)
    listed = _kubectl(env, "-n", namespace, "get", "scheduledjobs", "-o", "json")
    jobs = [j for j in json.loads(listed)["items"] if j["metadata"]["name"] in scheduled]
    say(f"stopped; waiting for the facade's answers, then {SETTLE:.0f} s for the runs to finish")
    await asking
    await asyncio.sleep(SETTLE)
    if not await ledger.quiesce(QUIET, QUIESCE_WITHIN):
        say(f"not quiet within {QUIESCE_WITHIN:.0f} s more: counting what is there")
    runs = ledger.runs()
    report = account(
        [_expected(j, stopped) for j in jobs],
        runs,
        [leaders for _, leaders in sampler.samples],
        takeovers(targets.kills, sampler.samples),
        history=await _history(env, namespace, runs),
    )
    made = _made(json.loads(_kubectl(env, "-n", namespace, "get", "scheduledjobs", "-o", "json")))
    asked = [
        *_asked_rows(driver, runs, stopped),
        made_row(
            "job create",
            driver.creates,
            {key: made.get(made_name(key), []) for key in {a.ident for a in driver.creates}},
        ),
    ]
    notices = await _notices(tap, runs)
    unexecuted, twice = execution_gaps(runs, executions.pods)
    for task in recording:
        task.cancel()
    await executions.stop()
    _keep(replicas.logs, runs, driver)
    print(report.table())
    print(asked_table(asked, notices, tap.copies))
    print(f"requests sent again (the facade was down or cut the answer): {driver.client.resent}")
    print(f"finished runs that never executed: {unexecuted}; runs executed twice: {twice}")
    crashed = _crashes(exits)
    faults = sum(row.faults for row in asked) + notices + unexecuted + twice
    if faults:
        print(f"FAILED: {faults} faults in the asked-for runs, notices or executions")
    return 0 if report.ok and not faults and not crashed else 1


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
