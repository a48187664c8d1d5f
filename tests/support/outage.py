"""Stopping and starting one component of the local stack for an outage test (through
``hack/stack stop|start``, the project's own command)."""

from __future__ import annotations

import subprocess
from pathlib import Path

__all__ = ["stack_component"]

STACK = str(Path(__file__).resolve().parents[2] / "hack" / "stack")


def stack_component(verb: str, component: str) -> None:
    """``hack/stack <verb> <component>``; fails the test with the command's stderr."""
    done = subprocess.run(
        [STACK, verb, component], capture_output=True, text=True, check=False, timeout=180
    )
    assert done.returncode == 0, done.stderr
