"""Stop a stack and remove what it left on the machine.

Order matters: the kubelet first (it would restart pods), then the pods' containers via
the node's containerd, then every recorded process; then the mounts under the state
directory (the kubelet bind-mounts its root dir and a tmpfs per projected volume, so a
plain ``rm -rf`` fails with "Device or resource busy"), the pods' network namespaces, the
CNI and kube-proxy iptables chains, and the bridge.
"""

from __future__ import annotations

import contextlib
import ipaddress
import shutil
import subprocess
from pathlib import Path

from .node import remove_bridge
from .processes import State, is_alive, stop
from .settings import CLUSTER_NAME, POD_CIDR, Dirs

__all__ = ["teardown"]

# Reverse start order; the kubelet goes first so it does not restart what we stop.
STOP_ORDER = (
    "kubelet",
    "kube-proxy",
    "kube-scheduler",
    "kube-controller-manager",
    "kube-apiserver",
    "etcd",
    "kafka",
    "postgres",
    "dockerd",
    "containerd",
)


def _kill_containers(dirs: Dirs, state: State) -> None:
    record = state.processes.get("containerd")
    if record is None or not is_alive(record):
        return
    ctr = ["ctr", "-a", str(dirs.containerd_socket), "-n", "k8s.io"]
    listed = subprocess.run(
        [*ctr, "tasks", "ls", "-q"], capture_output=True, text=True, check=False, timeout=30
    )
    for task in listed.stdout.split():
        subprocess.run(
            [*ctr, "tasks", "kill", "-a", "-s", "SIGKILL", task],
            capture_output=True,
            check=False,
            timeout=30,
        )
    for task in listed.stdout.split():
        subprocess.run(
            [*ctr, "tasks", "delete", "-f", task], capture_output=True, check=False, timeout=30
        )


def _unmount_under(*roots: Path) -> None:
    """Unmount everything below the given folders, deepest first."""
    prefixes = tuple(str(root) + "/" for root in roots)
    with open("/proc/self/mountinfo") as info:
        points = [line.split()[4] for line in info]
    ours = [p for p in points if p.startswith(prefixes) or p in {str(r) for r in roots}]
    for point in sorted(set(ours), key=len, reverse=True):
        result = subprocess.run(["umount", point], capture_output=True, check=False)
        if result.returncode != 0:
            subprocess.run(["umount", "-l", point], capture_output=True, check=False)


def _remove_pod_netns() -> None:
    """Delete leftover CNI network namespaces whose pod address is in our pod range."""
    network = ipaddress.ip_network(POD_CIDR)
    listed = subprocess.run(["ip", "netns", "list"], capture_output=True, text=True, check=False)
    for line in listed.stdout.splitlines():
        name = line.split()[0] if line.split() else ""
        if not name.startswith("cni-"):
            continue
        addrs = subprocess.run(
            ["ip", "-n", name, "-4", "-o", "addr"], capture_output=True, text=True, check=False
        ).stdout
        for field in addrs.split():
            with contextlib.suppress(ValueError):
                if "/" in field and ipaddress.ip_interface(field).ip in network:
                    subprocess.run(["ip", "netns", "delete", name], check=False)
                    break


def _remove_cni_iptables() -> None:
    """Drop the masquerade rules and chains the CNI bridge plugin made for our network."""
    rules = subprocess.run(
        ["iptables", "-t", "nat", "-S", "POSTROUTING"], capture_output=True, text=True, check=False
    ).stdout
    chains = set()
    for rule in rules.splitlines():
        if f'name: \\"{CLUSTER_NAME}\\"' in rule or f'name: "{CLUSTER_NAME}"' in rule:
            parts = rule.split()
            if "-j" in parts:
                chains.add(parts[parts.index("-j") + 1])
            delete = ["iptables", "-t", "nat", "-D", *parts[1:]]
            subprocess.run(delete, capture_output=True, check=False)
    for chain in chains:
        if chain.startswith("CNI-"):
            subprocess.run(["iptables", "-t", "nat", "-F", chain], capture_output=True, check=False)
            subprocess.run(["iptables", "-t", "nat", "-X", chain], capture_output=True, check=False)


KUBELET_CHAINS = ("KUBE-FIREWALL", "KUBE-KUBELET-CANARY")


def _remove_kubelet_iptables() -> None:
    """The kubelet's own chains (kube-proxy --cleanup leaves them)."""
    for tool in ("iptables", "ip6tables"):
        for table in ("filter", "nat", "mangle"):
            for chain in ("INPUT", "OUTPUT"):
                rule = [tool, "-t", table, "-D", chain, "-j", "KUBE-FIREWALL"]
                subprocess.run(rule, capture_output=True, check=False)
            for own in KUBELET_CHAINS:
                subprocess.run([tool, "-t", table, "-F", own], capture_output=True, check=False)
                subprocess.run([tool, "-t", table, "-X", own], capture_output=True, check=False)


def teardown(dirs: Dirs) -> None:
    """Stop the stack recorded in the state directory and delete that directory."""
    state = State.load(dirs.state_file)
    if "kubelet" in state.processes:
        stop(state.processes["kubelet"])
    _kill_containers(dirs, state)
    # Processes started on top of the stack (operator replicas) go first, so they can
    # still release their Lease while the API server is up.
    for name, record in state.processes.items():
        if name not in STOP_ORDER:
            stop(record)
    for name in STOP_ORDER:
        if name in state.processes:
            stop(state.processes[name])
    proxy = dirs.bin / "kube-proxy"
    if proxy.exists():
        subprocess.run(
            [proxy, "--cleanup", "--proxy-mode=iptables"], capture_output=True, check=False
        )
    _unmount_under(dirs.state, dirs.docker_data)
    _remove_pod_netns()
    _remove_cni_iptables()
    _remove_kubelet_iptables()
    remove_bridge()
    shutil.rmtree(dirs.postgres.parent, ignore_errors=True)
    shutil.rmtree(dirs.state, ignore_errors=True)
