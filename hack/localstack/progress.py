"""Progress lines for long steps and the one-line failure report.

Every step prints its name and elapsed time; a step that runs a command writes the
command's output to a log file and, on failure, raises :class:`StepFailed` naming the step,
the command and that log, which the CLI prints as one line.
"""

from __future__ import annotations

import shlex
import subprocess
import sys
import threading
import time
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path

__all__ = ["StepFailed", "run_logged", "say", "step"]

_START = time.monotonic()


class StepFailed(Exception):
    """A step of ``hack/stack`` failed; the message is the whole report."""


def say(message: str) -> None:
    """Print one progress line with the time since the command started."""
    print(f"[{time.monotonic() - _START:6.1f}s] {message}", file=sys.stderr, flush=True)


@contextmanager
def step(name: str, heartbeat: float = 15.0) -> Iterator[None]:
    """Announce a step, print a heartbeat while it runs, and its duration when done."""
    began = time.monotonic()
    say(f"{name} ...")
    done = threading.Event()

    def beat() -> None:
        while not done.wait(heartbeat):
            say(f"{name}: still working ({time.monotonic() - began:.0f}s)")

    ticker = threading.Thread(target=beat, daemon=True)
    ticker.start()
    try:
        yield
    finally:
        done.set()
    say(f"{name}: done in {time.monotonic() - began:.1f}s")


def run_logged(
    name: str,
    argv: Sequence[str | Path],
    log: Path,
    *,
    cwd: Path | None = None,
    env: Mapping[str, str] | None = None,
    stdin: int | None = subprocess.DEVNULL,
    input_bytes: bytes | None = None,
) -> None:
    """Run a command with its output appended to ``log``; raise StepFailed if it fails."""
    log.parent.mkdir(parents=True, exist_ok=True)
    command = shlex.join(str(a) for a in argv)
    with log.open("ab") as out:
        out.write(f"\n$ {command}\n".encode())
        out.flush()
        try:
            result = subprocess.run(
                [str(a) for a in argv],
                cwd=cwd,
                env=dict(env) if env is not None else None,
                stdin=None if input_bytes is not None else stdin,
                input=input_bytes,
                stdout=out,
                stderr=subprocess.STDOUT,
                check=False,
            )
        except FileNotFoundError as exc:
            raise StepFailed(f"{name} failed: command not found: {command} (log: {log})") from exc
    if result.returncode != 0:
        raise StepFailed(f"{name} failed (exit {result.returncode}): {command} (log: {log})")
