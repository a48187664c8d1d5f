"""The command payload with real subprocesses: exit codes, output tails, timeouts."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

from almanac.executor.errors import PayloadFailedError
from almanac.executor.payloads.command import LINE_BYTES, TAIL_BYTES, execute
from tests.support import eventually
from tests.unit.executor.support import make_context


async def test_zero_exit_succeeds_with_output_tails(tmp_path: Path) -> None:
    params = {
        "command": [sys.executable, "-c", "import sys; print('out'); print('err', file=sys.stderr)"]
    }
    result = await execute(params, make_context(tmp_path))
    assert result.ok
    assert result.details["exitCode"] == 0
    assert (result.details["stdoutTail"], result.details["stderrTail"]) == ("out\n", "err\n")


def output_lines(caplog: pytest.LogCaptureFixture) -> list[tuple[str, str]]:
    return [
        (r.__dict__["stream"], r.__dict__["line"])
        for r in caplog.records
        if r.name == "almanac.executor" and r.getMessage() == "output"
    ]


async def test_each_output_line_is_logged_as_it_comes(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """The run's log (``almanac logs``, the console) shows what the program printed."""
    caplog.set_level("INFO", logger="almanac.executor")
    code = "import sys; print('one'); print('two\\r'); sys.stderr.write('no newline')"
    result = await execute({"command": [sys.executable, "-c", code]}, make_context(tmp_path))
    assert result.ok
    lines = output_lines(caplog)
    assert [line for line in lines if line[0] == "stdout"] == [("stdout", "one"), ("stdout", "two")]
    assert ("stderr", "no newline") in lines


async def test_a_long_line_is_logged_cut(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level("INFO", logger="almanac.executor")
    code = "import sys; sys.stdout.write('a' * 200000 + '\\nEND\\n')"
    await execute({"command": [sys.executable, "-c", code]}, make_context(tmp_path))
    assert output_lines(caplog) == [("stdout", "a" * LINE_BYTES), ("stdout", "END")]


async def test_non_zero_exit_fails_with_the_code(tmp_path: Path) -> None:
    result = await execute({"command": "exit 3", "shell": True}, make_context(tmp_path))
    assert not result.ok
    assert result.summary == "command exited with code 3"
    assert result.details["exitCode"] == 3


async def test_only_the_tail_of_a_long_output_is_kept(tmp_path: Path) -> None:
    code = "import sys; sys.stdout.write('a' * 200000 + 'END')"
    result = await execute({"command": [sys.executable, "-c", code]}, make_context(tmp_path))
    assert result.details["stdoutBytes"] == 200003
    assert len(result.details["stdoutTail"]) == TAIL_BYTES
    assert result.details["stdoutTail"].endswith("END")


async def test_timeout_kills_the_whole_process_group(tmp_path: Path) -> None:
    pidfile = tmp_path / "child.pid"
    line = f"sleep 30 & echo $! > {pidfile}; wait"
    result = await execute(
        {"command": line, "shell": True, "timeout": "300ms"}, make_context(tmp_path)
    )
    assert not result.ok
    assert result.summary.startswith("command timed out after 300ms")
    assert result.details["timedOut"] is True
    child = int(pidfile.read_text())

    def child_gone() -> bool:
        try:
            os.kill(child, 0)
        except ProcessLookupError:
            return True
        # A zombie awaiting its reaper counts as gone.
        return Path(f"/proc/{child}/stat").read_text().split()[2] == "Z"

    await eventually(child_gone, timeout=5, interval=0.05, what="background child killed")


async def test_env_values_come_from_params_and_secrets(tmp_path: Path) -> None:
    (tmp_path / "secrets" / "api").mkdir(parents=True)
    (tmp_path / "secrets" / "api" / "token").write_text("t0ken")
    params = {
        "command": 'echo "$PLAIN-$TOKEN"',
        "shell": True,
        "env": {"PLAIN": "p", "TOKEN": {"secretKeyRef": {"name": "api", "key": "token"}}},
    }
    result = await execute(params, make_context(tmp_path))
    assert result.details["stdoutTail"] == "p-t0ken\n"


async def test_missing_program_fails_naming_the_command(tmp_path: Path) -> None:
    with pytest.raises(PayloadFailedError) as caught:
        await execute({"command": ["/nonexistent/tool"]}, make_context(tmp_path))
    assert caught.value.field == "params.command"
    assert "exists in the template's image" in caught.value.message
