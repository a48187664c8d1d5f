"""``command`` payload: run a program in the run pod, judged by its exit code.

Params (camelCase)::

    command: [argv, ...]          (or one string when shell: true)
    shell: false                  (true: run command with /bin/sh -c)
    timeout: 5m                   (then the whole process group is killed)
    env: {NAME: value | {secretKeyRef: {name, key}}}

The program runs in its own session (process group) so a timeout kills its children too;
only the last bytes of stdout and stderr are kept in the result, so a chatty program
cannot exhaust memory or the 4 KiB result; every line of both is also logged as it comes
(``"msg": "output"``, with ``stream`` and ``line``), which is what the run's log shows.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import time
from collections.abc import Mapping
from typing import Any, Final, Self

from pydantic import Field, model_validator

from almanac.core.base import Duration
from almanac.executor.context import PayloadContext
from almanac.executor.errors import PayloadFailedError
from almanac.executor.logs import log
from almanac.executor.paramsmodel import ParamError, ParamsModel, parse_params
from almanac.executor.payloads.common import MaybeSecret, seconds
from almanac.executor.result import Result

__all__ = ["CommandParams", "execute"]

TAIL_BYTES: Final = 1024
#: Longest line logged as one (a longer one is cut: the log line stays readable).
LINE_BYTES: Final = 4096
_KILL_GRACE: Final = 2.0


class CommandParams(ParamsModel):
    """Params of the ``command`` payload."""

    command: list[str] | str = Field(description="argv list, or a shell line if shell is true.")
    shell: bool = Field(False, description="Run command (a string) with /bin/sh -c.")
    timeout: Duration = Field("5m", description="Kill the process group after this long.")
    env: dict[str, MaybeSecret] = Field(
        default_factory=dict, max_length=128, description="Extra environment variables."
    )

    @model_validator(mode="after")
    def _check_command_shape(self) -> Self:
        if self.shell and not isinstance(self.command, str):
            raise ParamError(
                "command", "with shell: true, command must be one string such as 'ls -l | wc'"
            )
        if not self.shell and (isinstance(self.command, str) or not self.command):
            raise ParamError(
                "command",
                'must be a non-empty argv list such as ["ls", "-l"] '
                "(or set shell: true for a shell line)",
            )
        if any(not name or "=" in name or "\0" in name for name in self.env):
            raise ParamError("env", "variable names must be non-empty and contain no '=' or NUL")
        return self


class _Tail:
    """Keeps the last ``TAIL_BYTES`` of a stream, and logs each of its lines as it comes
    (so the program's output is in the run's log, where ``almanac logs`` and the console
    read it, as one JSON line each with the run's fields and secrets scrubbed)."""

    def __init__(self, stream_name: str) -> None:
        self.stream_name = stream_name
        self.data = bytearray()
        self.total = 0
        self._line = bytearray()

    async def drain(self, stream: asyncio.StreamReader) -> None:
        while chunk := await stream.read(65536):
            self.total += len(chunk)
            self.data += chunk
            del self.data[:-TAIL_BYTES]
            self._log_lines(chunk)
        if self._line:
            self._emit(bytes(self._line))

    def _log_lines(self, chunk: bytes) -> None:
        *complete, rest = (bytes(self._line) + chunk).split(b"\n")
        for line in complete:
            self._emit(line)
        self._line = bytearray(rest[:LINE_BYTES])

    def _emit(self, line: bytes) -> None:
        text = line[:LINE_BYTES].decode("utf-8", errors="replace").rstrip("\r")
        log.info("output", extra={"stream": self.stream_name, "line": text})

    def text(self) -> str:
        return bytes(self.data).decode("utf-8", errors="replace")


def _kill_group(process: asyncio.subprocess.Process, sig: int) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(process.pid, sig)


async def execute(raw: Mapping[str, Any], ctx: PayloadContext) -> Result:
    """Run the command; succeed on exit code 0."""
    params = parse_params(CommandParams, raw)
    extra = {
        name: value if isinstance(value, str) else ctx.secrets.read(value, f"params.env.{name}")
        for name, value in params.env.items()
    }
    env = {**os.environ, **extra}
    timeout = seconds(params.timeout, "params.timeout")
    started = time.monotonic()
    try:
        if isinstance(params.command, str):
            process = await asyncio.create_subprocess_shell(
                params.command,
                stdin=asyncio.subprocess.DEVNULL,
                stdout=asyncio.subprocess.PIPE,
                stderr=asyncio.subprocess.PIPE,
                env=env,
                start_new_session=True,
            )
        else:
            process = await asyncio.create_subprocess_exec(
                *params.command,
                stdin=asyncio.subprocess.DEVNULL,
                stdout=asyncio.subprocess.PIPE,
                stderr=asyncio.subprocess.PIPE,
                env=env,
                start_new_session=True,
            )
    except OSError as exc:
        raise PayloadFailedError(
            f"cannot start {params.command!r}: {exc.strerror or exc}; check that the program "
            "exists in the template's image",
            "params.command",
        ) from None
    assert process.stdout is not None
    assert process.stderr is not None
    out, err = _Tail("stdout"), _Tail("stderr")
    readers = asyncio.gather(out.drain(process.stdout), err.drain(process.stderr))
    timed_out = False
    try:
        async with asyncio.timeout(timeout):
            await process.wait()
    except TimeoutError:
        timed_out = True
        _kill_group(process, signal.SIGTERM)
        try:
            async with asyncio.timeout(_KILL_GRACE):
                await process.wait()
        except TimeoutError:
            _kill_group(process, signal.SIGKILL)
            await process.wait()
    finally:
        if process.returncode is None:  # cancelled (deadline, SIGTERM): leave no orphans
            _kill_group(process, signal.SIGKILL)
            with contextlib.suppress(TimeoutError):  # reap it, so no transport outlives us
                async with asyncio.timeout(_KILL_GRACE):
                    await process.wait()
    # Grandchildren may hold the pipes open; do not wait for them forever.
    with contextlib.suppress(TimeoutError):
        async with asyncio.timeout(_KILL_GRACE):
            await readers
    readers.cancel()
    details = {
        "exitCode": process.returncode,
        "durationMs": int((time.monotonic() - started) * 1000),
        "stdoutTail": out.text(),
        "stderrTail": err.text(),
        "stdoutBytes": out.total,
        "stderrBytes": err.total,
    }
    if timed_out:
        return Result.failed(
            f"command timed out after {params.timeout}; its process group was killed "
            "(raise params.timeout if it needs longer)",
            timedOut=True,
            **details,
        )
    if process.returncode == 0:
        return Result.succeeded("command exited with code 0", **details)
    return Result.failed(f"command exited with code {process.returncode}", **details)
