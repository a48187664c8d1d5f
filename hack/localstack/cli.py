"""``hack/stack up|down|status|env``: the local stack's command line."""

from __future__ import annotations

import argparse
import fcntl
import json
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from . import controlplane, node, services
from .build import build_all, kubectl
from .dev import start_dev
from .host import check_host, install_packages
from .images import build_images
from .kubeapi import api_get
from .pki import make_pki, write_kubeconfig
from .processes import State, free_port, is_alive, spawn, stop, wait_for
from .progress import StepFailed, say, step
from .registry import ensure_registries, registry_env
from .settings import GATEWAY, PROJECT_IMAGE, Dirs
from .teardown import STOP_ORDER, teardown

__all__ = ["main"]

PORTS_ON_LOOPBACK = (
    "etcd",
    "etcd-peer",
    "kubelet",
    "kube-proxy-metrics",
    "kube-proxy-healthz",
    "kafka-controller",
)
PORTS_ON_GATEWAY = ("apiserver", "postgres", "kafka")


@contextmanager
def _locked(dirs: Dirs) -> Iterator[None]:
    """One ``up``/``down`` at a time per state directory: never two stacks on one set."""
    dirs.state.parent.mkdir(parents=True, exist_ok=True)
    with open(dirs.state.parent / f".{dirs.state.name}.lock", "w") as lock:
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            say("another hack/stack command holds the lock; waiting for it")
            fcntl.flock(lock, fcntl.LOCK_EX)
        yield


def _env_lines(dirs: Dirs, state: State) -> dict[str, str]:
    return {
        "KUBECONFIG": str(dirs.kubeconfig),
        "ALMANAC_DATABASE_URL": services.database_url(state),
        "ALMANAC_KAFKA_BOOTSTRAP": services.kafka_bootstrap(state),
        "ALMANAC_IMAGE": state.secrets.get("image", PROJECT_IMAGE),
        "ALMANAC_STACK_DIR": str(dirs.state),
        **services.kafka_test_env(dirs, state),
        **registry_env(dirs, state),
    }


def _running(state: State) -> bool:
    """The stack's own components all run (extras such as operator replicas may not)."""
    core = [state.processes.get(name) for name in STOP_ORDER]
    return all(record is not None and is_alive(record) for record in core)


def _node_ready(dirs: Dirs, state: State) -> bool:
    node_obj = api_get(dirs, state, "/api/v1/nodes/localhost")
    ready = any(
        c["type"] == "Ready" and c["status"] == "True"
        for c in node_obj.get("status", {}).get("conditions", [])
    )
    taints = [
        t
        for t in node_obj.get("spec", {}).get("taints", []) or []
        if t.get("effect") == "NoSchedule"
    ]
    return ready and not taints and not node_obj["spec"].get("unschedulable", False)


def _default_service_account(dirs: Dirs, state: State) -> bool:
    return bool(api_get(dirs, state, "/api/v1/namespaces/default/serviceaccounts/default"))


def _start(dirs: Dirs, state: State) -> None:
    """Start every component; state.json is saved after each so ``down`` can clean up."""

    def save() -> None:
        state.save(dirs.state_file)

    for name in PORTS_ON_LOOPBACK:
        state.ports[name] = free_port("127.0.0.1")
    node.ensure_bridge()
    for name in PORTS_ON_GATEWAY:
        state.ports[name] = free_port(GATEWAY)
    pki = make_pki(dirs.pki)
    write_kubeconfig(dirs.kubeconfig, pki, f"https://127.0.0.1:{state.ports['apiserver']}")
    save()
    with step("starting etcd, Postgres, Kafka, containerd and Docker"):
        controlplane.start_etcd(dirs, state)
        services.start_postgres(dirs, state)
        save()
        services.start_kafka(dirs, state)
        node.start_containerd(dirs, state)
        services.start_dockerd(dirs, state)
        save()
        controlplane.wait_etcd(dirs, state)
    with step("starting kube-apiserver"):
        controlplane.start_apiserver(dirs, state, pki)
        save()
        controlplane.wait_apiserver(dirs, state, pki)
    with step("starting controller-manager, scheduler, kubelet and kube-proxy"):
        controlplane.start_controllers(dirs, state, pki)
        wait_for(
            "containerd",
            dirs.containerd_socket.exists,
            timeout=30,
            log=dirs.logs / "containerd.log",
            record=state.processes["containerd"],
        )
        node.start_kubelet(dirs, state, pki)
        node.start_kube_proxy(dirs, state)
        save()
    with step("waiting for Postgres, Kafka and Docker"):
        services.wait_postgres(dirs, state)
        services.wait_kafka(dirs, state)
        services.wait_dockerd(dirs, state)


def _images(dirs: Dirs, state: State) -> None:
    """Record the project image the next dev processes and ``env`` use (an unchanged
    checkout keeps the same one, so the save below writes nothing)."""
    state.secrets["image"] = build_images(dirs, state)
    state.save(dirs.state_file)


def up(dirs: Dirs) -> State:
    """Start the stack, or check a running one: then only what changed is rebuilt,
    reloaded or restarted, so a rerun on an unchanged checkout changes nothing."""
    check_host()
    install_packages(dirs)
    build_all(dirs)
    state = State.load(dirs.state_file)
    if _running(state):
        say(f"reusing the running stack in {dirs.state}")
        if services.kafka_outdated(state):  # started before the SASL and TLS listeners
            start_component(dirs, "kafka")
            state = State.load(dirs.state_file)
        ensure_registries(dirs, state)
        _images(dirs, state)
        _wait_node(dirs, state)
        return state
    if state.processes or dirs.state.exists():
        with step(f"cleaning a stale stack in {dirs.state}"):
            teardown(dirs)
        state = State()
    dirs.state.mkdir(parents=True, exist_ok=True)
    _start(dirs, state)
    ensure_registries(dirs, state)
    _images(dirs, state)
    _wait_node(dirs, state)
    return state


def _wait_node(dirs: Dirs, state: State) -> None:
    with step("waiting for the node to be Ready and schedulable"):
        wait_for(
            "node 'localhost' (kubelet)",
            lambda: _node_ready(dirs, state),
            timeout=90,
            log=dirs.logs / "kubelet.log",
            record=state.processes["kubelet"],
        )
        wait_for(
            "default ServiceAccount (controller-manager)",
            lambda: _default_service_account(dirs, state),
            timeout=60,
            log=dirs.logs / "kube-controller-manager.log",
            record=state.processes["kube-controller-manager"],
        )


COMPONENTS = ("kube-apiserver", "kube-controller-manager", "postgres", "kafka")


def _component(state: State, dirs: Dirs, name: str) -> dict[str, Any]:
    record = state.processes.get(name)
    if record is None or "argv" not in record:
        raise StepFailed(f"no {name} recorded in {dirs.state}: run 'make stack'")
    return record


def stop_component(dirs: Dirs, name: str) -> None:
    """Stop one component and leave it stopped (outage tests); ``start`` brings it back."""
    state = State.load(dirs.state_file)
    record = _component(state, dirs, name)
    with step(f"stopping {name}"):
        stop(record)


def start_component(dirs: Dirs, name: str, extra: list[str] | None = None) -> None:
    """Start one component with its own command line (plus ``extra`` flags, e.g. the tuned
    controller-manager of the benchmark) on the same ports, and wait until it answers."""
    state = State.load(dirs.state_file)
    record = _component(state, dirs, name)
    base = record.get("base_argv", record["argv"])
    with step(f"starting {name}" + (f" with {' '.join(extra)}" if extra else "")):
        stop(record)  # no-op when already stopped
        if name == "kafka":  # its listeners, TLS files and password: rewritten, same ports
            services.configure_kafka(dirs, state)
        spawn(state, name, [*base, *(extra or [])], Path(record["log"]), user=record.get("user"))
        state.processes[name]["base_argv"] = base
        state.save(dirs.state_file)
        waits = {
            "kube-apiserver": lambda: controlplane.wait_apiserver(dirs, state, make_pki(dirs.pki)),
            "kube-controller-manager": lambda: wait_for(
                "kube-controller-manager",
                lambda: _default_service_account(dirs, state),
                timeout=30,
                log=Path(record["log"]),
                record=state.processes[name],
            ),
            "postgres": lambda: services.wait_postgres(dirs, state),
            "kafka": lambda: services.wait_kafka(dirs, state),
        }
        waits[name]()


def status(dirs: Dirs) -> int:
    state = State.load(dirs.state_file)
    if not state.processes:
        print(f"no stack in {dirs.state}")
        return 1
    for name, record in state.processes.items():
        alive = "running" if is_alive(record) else "STOPPED"
        print(f"{name:24} {alive:8} pid {record['pid']:<8} log {record['log']}")
    for name, port in sorted(state.ports.items()):
        print(f"port {name:19} {port}")
    return 0 if _running(state) else 1


def print_env(dirs: Dirs, as_json: bool) -> int:
    state = State.load(dirs.state_file)
    if not _running(state):
        print(f"no running stack in {dirs.state}: run 'make stack'", file=sys.stderr)
        return 1
    lines = _env_lines(dirs, state)
    if as_json:
        print(json.dumps(lines))
    else:
        for key, value in lines.items():
            print(f"export {key}={value}")
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="hack/stack", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("build", help="build what is missing (binaries, packages), start nothing")
    sub.add_parser("up", help="build what is missing, start the stack (or reuse it)")
    sub.add_parser("dev", help="up, then CRDs, two operator replicas and a sample job")
    sub.add_parser("down", help="stop the stack and clean up after it")
    sub.add_parser("status", help="show the stack's processes and ports")
    for verb, text in (
        ("restart", "restart one component (tests use it)"),
        ("start", "start a component that 'stop' stopped"),
        ("stop", "stop one component, leaving the rest running (outage tests)"),
    ):
        command = sub.add_parser(verb, help=text)
        command.add_argument("component", choices=COMPONENTS)
        if verb != "stop":
            command.add_argument(
                "extra",
                nargs="*",
                help="flags added to the component's own (none: back to its own)",
            )
    env = sub.add_parser("env", help="print export lines for the running stack")
    env.add_argument("--json", action="store_true", help="print a JSON object instead")
    args = parser.parse_args(argv)
    dirs = Dirs.from_env()
    began = time.monotonic()
    try:
        if args.command == "build":
            with _locked(dirs):
                check_host()
                install_packages(dirs)
                build_all(dirs)
            say(f"everything built in {time.monotonic() - began:.1f}s")
            return 0
        if args.command in ("up", "dev"):
            with _locked(dirs):
                state = up(dirs)
                if args.command == "dev":
                    start_dev(dirs, state)
                    state.save(dirs.state_file)
            say(f"stack ready in {time.monotonic() - began:.1f}s")
            for key, value in _env_lines(dirs, state).items():
                print(f"export {key}={value}")
            print(f"# then: {kubectl()} get nodes", file=sys.stderr)
            return 0
        if args.command == "down":
            check_host()
            with _locked(dirs), step(f"stopping the stack in {dirs.state}"):
                teardown(dirs)
            return 0
        if args.command == "stop":
            with _locked(dirs):
                stop_component(dirs, args.component)
            return 0
        if args.command in ("start", "restart"):
            with _locked(dirs):
                start_component(dirs, args.component, args.extra)
            return 0
        if args.command == "status":
            return status(dirs)
        return print_env(dirs, args.json)
    except StepFailed as failure:
        print(f"hack/stack {args.command}: {failure}", file=sys.stderr)
        return 1
