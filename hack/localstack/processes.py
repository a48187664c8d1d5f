"""Child processes of the stack, recorded by pid so that ``down`` stops only those.

A recorded process is identified by pid *and* the executable it was started from; a pid
that was reused by another program is never signalled.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import ssl
import subprocess
import time
import urllib.request
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .progress import StepFailed

__all__ = [
    "State",
    "free_port",
    "is_alive",
    "spawn",
    "stop",
    "tail",
    "wait_for",
    "wait_http",
]


@dataclass
class State:
    """What a running stack is: its ports, processes and secrets (state.json), and
    ``applied``: fingerprints of what was last put into the cluster, so that a rerun on
    an unchanged checkout can tell there is nothing to apply."""

    ports: dict[str, int] = field(default_factory=dict)
    processes: dict[str, dict[str, Any]] = field(default_factory=dict)
    secrets: dict[str, str] = field(default_factory=dict)
    applied: dict[str, str] = field(default_factory=dict)

    @classmethod
    def load(cls, path: Path) -> State:
        if not path.exists():
            return cls()
        data = json.loads(path.read_text())
        return cls(
            ports=data.get("ports", {}),
            processes=data.get("processes", {}),
            secrets=data.get("secrets", {}),
            applied=data.get("applied", {}),
        )

    def save(self, path: Path) -> None:
        """Write the file atomically, and not at all when it already says the same (a
        rerun that changed nothing leaves the state directory untouched)."""
        text = json.dumps(
            {
                "ports": self.ports,
                "processes": self.processes,
                "secrets": self.secrets,
                "applied": self.applied,
            },
            indent=2,
        )
        if path.exists() and path.read_text() == text:
            return
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(".tmp")
        tmp.write_text(text)
        tmp.chmod(0o600)
        tmp.replace(path)


def free_port(host: str = "127.0.0.1") -> int:
    """A port nothing listens on now (the kernel picks it, so a busy one is never chosen)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


def is_alive(record: Mapping[str, Any]) -> bool:
    """True if the recorded pid still runs the recorded executable."""
    pid = int(record["pid"])
    try:
        exe = os.readlink(f"/proc/{pid}/exe")
    except OSError:
        return False
    stat = Path(f"/proc/{pid}/stat").read_text()
    if stat.rsplit(")", 1)[1].split()[0] == "Z":
        return False
    return Path(exe.removesuffix(" (deleted)")).name == Path(record["exe"]).name


def spawn(
    state: State,
    name: str,
    argv: Sequence[str | Path],
    log: Path,
    *,
    env: Mapping[str, str] | None = None,
    user: str | None = None,
    cwd: Path | None = None,
) -> None:
    """Start a component in its own session with output to ``log``; record its pid."""
    log.parent.mkdir(parents=True, exist_ok=True)
    with log.open("ab") as out:
        process = subprocess.Popen(
            [str(a) for a in argv],
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            env=dict(env) if env is not None else None,
            user=user,
            cwd=cwd,
        )
    exe = os.path.realpath(str(argv[0])) if os.sep in str(argv[0]) else str(argv[0])
    state.processes[name] = {
        "pid": process.pid,
        "exe": exe,
        "log": str(log),
        "argv": [str(a) for a in argv],
        "user": user,
    }


def stop(record: Mapping[str, Any], grace: float = 10.0) -> None:
    """SIGTERM the recorded process group, then SIGKILL after ``grace`` seconds."""
    if not is_alive(record):
        return
    pid = int(record["pid"])
    with contextlib.suppress(ProcessLookupError):
        os.killpg(pid, signal.SIGTERM)
    deadline = time.monotonic() + grace
    while time.monotonic() < deadline:
        if not is_alive(record):
            break
        time.sleep(0.1)
    with contextlib.suppress(ProcessLookupError):
        os.killpg(pid, signal.SIGKILL)
    with contextlib.suppress(ChildProcessError):
        os.waitpid(pid, os.WNOHANG)


def tail(path: Path, lines: int = 15) -> str:
    try:
        text = path.read_text(errors="replace").splitlines()
    except OSError:
        return ""
    return "\n".join("    " + line for line in text[-lines:])


def wait_for(
    what: str,
    check: Callable[[], bool],
    *,
    timeout: float,
    log: Path | None = None,
    record: Mapping[str, Any] | None = None,
) -> None:
    """Poll ``check`` until true; fail naming the component and its log on timeout."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with contextlib.suppress(Exception):
            if check():
                return
        if record is not None and not is_alive(record):
            where = f"; log: {log}\n{tail(log)}" if log else ""
            raise StepFailed(f"{what} exited during start-up{where}")
        time.sleep(0.2)
    where = f"; log: {log}\n{tail(log)}" if log else ""
    raise StepFailed(f"{what} did not become ready within {timeout:.0f}s{where}")


def wait_http(url: str, context: ssl.SSLContext | None = None) -> Callable[[], bool]:
    def check() -> bool:
        with urllib.request.urlopen(url, timeout=2, context=context) as response:
            return bool(response.status == 200)

    return check
