"""The Almanac operator as a benchmarked host process: start one, find ``make dev``'s
replicas, and read a process's CPU and RSS or the operator's /metrics."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import urllib.request
from pathlib import Path

__all__ = ["dev_operator_pids", "free_port", "metric", "proc_stats", "start_operator"]


def proc_stats(pid: int) -> tuple[float, float]:
    """(CPU seconds used, RSS MB) of a process."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    ticks = os.sysconf("SC_CLK_TCK")
    cpu = (int(fields[11]) + int(fields[12])) / ticks
    rss = int(fields[21]) * os.sysconf("SC_PAGE_SIZE") / 2**20
    return cpu, rss


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def metric(port: int, name: str) -> float:
    """One unlabelled series from the operator's /metrics (0 if not there yet)."""
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as page:
            for line in page.read().decode().splitlines():
                if line.startswith(name + " "):
                    return float(line.split()[1])
    except OSError:
        pass
    return 0.0


def start_operator(
    env: dict[str, str], namespace: str, log: Path, port: int, watch: str | None = None
) -> subprocess.Popen[bytes]:
    """One operator whose Lease is in ``namespace``, watching ``watch`` (default: it)."""
    run_env = dict(
        os.environ,
        **env,
        ALMANAC_WATCH_NAMESPACES=watch or namespace,
        ALMANAC_LEASE_NAMESPACE=namespace,
        ALMANAC_LEASE_NAME="bench",
        ALMANAC_IDENTITY="bench",
        ALMANAC_METRICS_PORT=str(port),
    )
    with log.open("wb") as out:
        return subprocess.Popen(
            [sys.executable, "-m", "almanac", "operator"],
            env=run_env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )


def running_dev_operators(env: dict[str, str]) -> dict[str, int]:
    """``make dev``'s operator replicas that run now, name to pid (the stack's state file)."""
    state = json.loads((Path(env["ALMANAC_STACK_DIR"]) / "state.json").read_text())
    return {
        name: int(record["pid"])
        for name, record in state.get("processes", {}).items()
        if name.startswith("operator-") and Path(f"/proc/{record['pid']}").exists()
    }


def dev_operator_pids(env: dict[str, str]) -> list[int]:
    """The pids of ``make dev``'s operator replicas; exits when none runs."""
    pids = list(running_dev_operators(env).values())
    if not pids:
        raise SystemExit("--on-dev: no operator replica of 'make dev' is running")
    return pids
