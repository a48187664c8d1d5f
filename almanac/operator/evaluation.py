"""Trigger expressions evaluated in killable worker processes, with a deadline each.

Why processes and not a thread: the CEL library (``common-expression-language`` 0.10.0)
holds the GIL for the whole of ``Program.execute`` (measured: a 64 ms evaluation in
``asyncio.to_thread`` delayed a 1 ms timer by 63 ms), has no cost limit, and a Python
thread cannot be stopped. Evaluated on the loop or in a thread, one tenant's expensive
filter stalled the leader's loop (Lease renewal included) for seconds. In a separate
process the loop only waits on a pipe, and an evaluation past its deadline is ended by
killing the process. The admission caps (:mod:`almanac.core.celbounds`) keep such cases
rare; the deadline bounds the rest.

:class:`EvaluatorPool` keeps ``workers`` processes (started on first use, so an operator
without Kafka triggers starts none). One request carries an event and the checks of every
route of its topic; the process answers check by check, so the deadline applies to each
check: the one that overruns is answered ``failed`` with the reason, its process is killed
and replaced in the background, and the remaining checks go to another process. The
deadline is measured in the process's CPU time (with a wall-clock ceiling of
:data:`WALL_FACTOR` times it), so a busy machine that merely delays the process does not
fail events. When no process is free for :data:`BUSY_SECONDS` (all were killed and are
restarting), the checks are answered ``failed`` ("evaluation busy") rather than holding
the partition: the number of processes, never of waiting evaluations, is what is bounded.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import sys
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Final, Protocol

from almanac.core.routecheck import RouteCheck, Verdict

from .logs import log

__all__ = ["BUSY_SECONDS", "Evaluator", "EvaluatorPool"]

#: How long a check waits for a free evaluator process before it is failed as busy.
BUSY_SECONDS: Final = 5.0
#: Wall-clock ceiling of one check, as a multiple of its CPU-time deadline.
WALL_FACTOR: Final = 10.0
#: Address space of each evaluator process: enough for 32 KiB events, not for a runaway.
MEMORY_BYTES: Final = 1 << 30
_STARTUP_SECONDS: Final = 30.0
_LINE_LIMIT: Final = 32 << 20
_RESPAWN_MAX: Final = 30.0
_GRACE: Final = 0.005
_TICKS: Final = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100


class Evaluator(Protocol):
    """Evaluates route checks on an event (the pool; tests use an in-process fake)."""

    async def start(self) -> None: ...

    async def evaluate(
        self, event: Mapping[str, Any], checks: Sequence[RouteCheck]
    ) -> list[Verdict]: ...

    async def aclose(self) -> None: ...


def _field(check: RouteCheck) -> str:
    return check.matcher.field if check.matcher is not None else check.params_field


@dataclass(frozen=True)
class _Answer:
    """What one process answered: ``healthy`` False means it is to be killed."""

    verdicts: list[Verdict]
    cut: Verdict | None
    healthy: bool


class _Process:
    """One evaluator process and its pipes."""

    def __init__(self, process: asyncio.subprocess.Process) -> None:
        self.process = process
        assert process.stdin is not None
        assert process.stdout is not None
        self.stdin = process.stdin
        self.stdout = process.stdout

    def cpu_seconds(self) -> float | None:
        """User + system CPU the process used so far (None where /proc is not readable)."""
        try:
            with open(f"/proc/{self.process.pid}/stat", "rb") as stat:
                fields = stat.read().rsplit(b")", 1)[1].split()
        except (OSError, IndexError):
            return None
        return (int(fields[11]) + int(fields[12])) / _TICKS

    async def kill(self) -> None:
        with contextlib.suppress(ProcessLookupError):
            self.process.kill()
        with contextlib.suppress(Exception):
            await self.process.wait()


class EvaluatorPool:
    def __init__(
        self,
        workers: int,
        deadline: float,
        *,
        busy: float = BUSY_SECONDS,
        command: Sequence[str] | None = None,
    ) -> None:
        self._size = workers
        self._deadline = deadline
        self._busy = busy
        self._command = list(
            command
            or [sys.executable, "-m", "almanac.operator.celworker", f"--memory={MEMORY_BYTES}"]
        )
        self._idle: asyncio.Queue[_Process] = asyncio.Queue()
        self._all: set[_Process] = set()
        self._spawning: set[asyncio.Task[None]] = set()
        self._started = False
        self._ready_once = False
        self._closed = False

    async def start(self) -> None:
        """Start the processes now rather than on the first event (idempotent)."""
        if not self._started:
            self._started = True
            for _ in range(self._size):
                self._spawn()

    async def evaluate(
        self, event: Mapping[str, Any], checks: Sequence[RouteCheck]
    ) -> list[Verdict]:
        """One verdict per check, in order; never raises for an event or an expression."""
        await self.start()
        verdicts: list[Verdict] = []
        pending = list(checks)
        while pending:
            worker = await self._acquire()
            if worker is None:
                verdicts += [self._busy_verdict(check) for check in pending]
                break
            try:
                answer = await self._ask(worker, event, pending)
            except asyncio.CancelledError:  # its replies may still come: never reuse it
                await self._retire(worker)
                raise
            verdicts += answer.verdicts
            pending = pending[len(answer.verdicts) :]
            if answer.healthy:
                self._idle.put_nowait(worker)
                continue
            if answer.cut is not None:
                verdicts.append(answer.cut)
                pending = pending[1:]
            await self._retire(worker)
        return verdicts

    async def aclose(self) -> None:
        """Stop every process (the leader is stepping down)."""
        self._closed = True
        starting = list(self._spawning)
        for task in starting:
            task.cancel()
        await asyncio.gather(*starting, return_exceptions=True)
        for worker in list(self._all):
            await self._retire(worker, replace=False)

    # -- one request ------------------------------------------------------------------------

    async def _ask(
        self, worker: _Process, event: Mapping[str, Any], checks: list[RouteCheck]
    ) -> _Answer:
        """Send the checks and read the verdicts answered in time; ``cut`` is the failed
        verdict of the check that overran or ended the process."""
        request = {"event": event, "checks": [check.to_wire() for check in checks]}
        answered: list[Verdict] = []
        try:
            worker.stdin.write(json.dumps(request, ensure_ascii=False).encode() + b"\n")
            await worker.stdin.drain()
        except (ConnectionError, RuntimeError):
            return _Answer(answered, None, healthy=False)  # died idle: ask another one
        for check in checks:
            line = await self._reply(worker)
            if line is None:
                return _Answer(answered, self._timeout_verdict(check), healthy=False)
            try:
                answered.append(Verdict.from_wire(json.loads(line)))
            except (ValueError, KeyError, TypeError) as exc:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(worker.process.wait(), 1.0)
                cut = self._crash_verdict(check, worker, str(exc) or "no reply")
                return _Answer(answered, cut, healthy=False)
        return _Answer(answered, None, healthy=True)

    async def _reply(self, worker: _Process) -> bytes | None:
        """The next reply line; None once the check used its deadline of CPU (or the wall
        ceiling); ``b""`` when the process ended."""
        started, cpu = time.monotonic(), worker.cpu_seconds()
        read = asyncio.ensure_future(worker.stdout.readline())
        wait = self._deadline
        try:
            while True:
                done, _ = await asyncio.wait({read}, timeout=wait)
                if not done:  # a reply already in the pipe is read before judging
                    done, _ = await asyncio.wait({read}, timeout=_GRACE)
                if done:
                    try:
                        return read.result()
                    except (ValueError, ConnectionError):  # a reply over the line limit
                        return b""
                wall = time.monotonic() - started
                used = worker.cpu_seconds()
                spent = wall if cpu is None or used is None else used - cpu
                if spent >= self._deadline or wall >= self._deadline * WALL_FACTOR:
                    return None
                wait = max(_GRACE, self._deadline - spent)
        finally:
            read.cancel()

    # -- the processes ----------------------------------------------------------------------

    async def _acquire(self) -> _Process | None:
        """A free process; the first ones may take a while to start on a busy machine."""
        try:
            wait = self._busy if self._ready_once else _STARTUP_SECONDS
            return await asyncio.wait_for(self._idle.get(), wait)
        except TimeoutError:
            return None

    async def _retire(self, worker: _Process, *, replace: bool = True) -> None:
        self._all.discard(worker)
        await worker.kill()
        if replace and not self._closed:
            self._spawn()

    def _spawn(self) -> None:
        task = asyncio.create_task(self._start_one())
        self._spawning.add(task)
        task.add_done_callback(self._spawning.discard)

    async def _start_one(self) -> None:
        """Start a process and wait for its ready line; retried with a growing pause (a
        broken installation is logged, and checks meanwhile fail as busy)."""
        pause = 1.0
        while not self._closed:
            worker: _Process | None = None
            try:
                process = await asyncio.create_subprocess_exec(
                    *self._command,
                    stdin=asyncio.subprocess.PIPE,
                    stdout=asyncio.subprocess.PIPE,
                    limit=_LINE_LIMIT,
                )
                worker = _Process(process)
                ready = await asyncio.wait_for(worker.stdout.readline(), _STARTUP_SECONDS)
                hello = json.loads(ready or b"{}")
                if isinstance(hello, dict) and hello.get("ready") is True:
                    self._ready_once = True
                    self._all.add(worker)
                    self._idle.put_nowait(worker)
                    return
                raise RuntimeError(f"unexpected first line {ready[:80]!r}")
            except (OSError, TimeoutError, RuntimeError, ValueError) as exc:
                log.error("trigger evaluator not started", extra={"error": str(exc)})
                if worker is not None:
                    await worker.kill()
                await asyncio.sleep(pause)
                pause = min(pause * 2, _RESPAWN_MAX)
            except asyncio.CancelledError:  # the pool is closing: no process is left behind
                if worker is not None:
                    await worker.kill()
                raise

    # -- answers for checks that got none ----------------------------------------------------

    def _timeout_verdict(self, check: RouteCheck) -> Verdict:
        ms = round(self._deadline * 1000)
        log.warning(
            "trigger evaluation stopped at its deadline",
            extra={"field": _field(check), "deadline_ms": ms},
        )
        return Verdict.failed(
            f"evaluation took longer than {ms} ms and was stopped; simplify the expression "
            "(a comprehension over a long list costs the most) or raise "
            "ALMANAC_TRIGGER_EVAL_TIMEOUT",
            _field(check),
        )

    def _crash_verdict(self, check: RouteCheck, worker: _Process, error: str) -> Verdict:
        code = worker.process.returncode
        log.warning(
            "trigger evaluator process failed",
            extra={"field": _field(check), "error": error, "exit_code": code},
        )
        return Verdict.failed(
            f"the evaluator process ended during this evaluation (exit code {code}; it is "
            f"limited to {MEMORY_BYTES >> 20} MiB); simplify the expression",
            _field(check),
        )

    def _busy_verdict(self, check: RouteCheck) -> Verdict:
        log.warning("trigger evaluation busy", extra={"field": _field(check)})
        return Verdict.failed(
            f"evaluation busy: no evaluator process was free for {self._busy:g} s (each "
            "stopped evaluation restarts one); the event was not evaluated",
            _field(check),
        )
