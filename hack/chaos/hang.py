"""Black-holing a stack component: every process of it SIGSTOPped, so connections to it
hang instead of being refused (a stopped component refuses at once, which clients handle
differently), then SIGCONT. Postgres is the one the suite hangs: its postmaster and every
backend, so the operator's open pool connections hang too."""

from __future__ import annotations

import contextlib
import os
import signal
from pathlib import Path

from hack.localstack.settings import Dirs

__all__ = ["postgres_processes", "signal_all"]


def _children(root: int) -> list[int]:
    """``root`` and every process below it, from /proc."""
    parents: dict[int, list[int]] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue  # the process ended meanwhile
        parents.setdefault(int(fields[1]), []).append(int(stat.parent.name))
    tree, todo = [], [root]
    while todo:
        pid = todo.pop()
        tree.append(pid)
        todo.extend(parents.get(pid, []))
    return tree


def postgres_processes() -> list[int]:
    """The local stack's postmaster (from its pid file) and all its backends; the stack's
    directories found as ``hack/stack`` finds them."""
    pid_file = Dirs.from_env().postgres / "data" / "postmaster.pid"
    return _children(int(pid_file.read_text().splitlines()[0]))


def signal_all(pids: list[int], sig: signal.Signals) -> None:
    """Send ``sig`` to each process still there."""
    for pid in pids:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, sig)
