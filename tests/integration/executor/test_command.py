"""The command payload and bad input, through the real ``python -m almanac.executor``."""

from __future__ import annotations

import asyncio
import json
import signal
import sys
from pathlib import Path

from tests.integration.executor.conftest import RunExecutor, executor_env
from tests.support import eventually


def test_command_output_and_exit_code(run_executor: RunExecutor) -> None:
    run = run_executor("command", {"command": ["sh", "-c", "echo hello; echo oops >&2"]})
    assert run.code == 0
    assert (run.details["stdoutTail"], run.details["stderrTail"]) == ("hello\n", "oops\n")


def test_command_timeout_is_a_clear_failure(run_executor: RunExecutor) -> None:
    run = run_executor("command", {"command": ["sleep", "30"], "timeout": "300ms"})
    assert run.code == 1
    assert run.result["summary"].startswith("command timed out after 300ms")


def test_unknown_template_is_a_clear_failure(run_executor: RunExecutor) -> None:
    run = run_executor("fortune", {})
    assert run.code == 1
    assert run.details == {"error": "unknown_payload", "field": "ALMANAC_TEMPLATE"}


def test_malformed_params_variable_is_named(run_executor: RunExecutor) -> None:
    run = run_executor("command", {}, ALMANAC_PARAMS="{not json")
    assert run.details == {"error": "invalid_environment", "field": "ALMANAC_PARAMS"}
    assert "not valid JSON" in run.result["summary"]


def test_huge_output_keeps_tails_within_the_termination_message(
    run_executor: RunExecutor,
) -> None:
    script = "import sys; print('é' * 50000); print('x' * 50000, file=sys.stderr); sys.exit(2)"
    run = run_executor("command", {"command": ["python3", "-c", script]})
    assert run.code == 1
    assert run.details["exitCode"] == 2
    assert run.details["stdoutBytes"] == 100001
    assert run.details["stderrTail"] == "x" * 1023 + "\n"


async def test_sigterm_ends_the_run_with_a_failed_result(tmp_path: Path, secrets_dir: Path) -> None:
    marker = tmp_path / "started"
    params = {"command": f"touch {marker}; sleep 30", "shell": True}
    env = executor_env(tmp_path, secrets_dir, "command", params)
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "almanac.executor", env=env, stdout=asyncio.subprocess.DEVNULL
    )
    try:
        await eventually(marker.exists, timeout=30, interval=0.05, what="the command started")
        process.send_signal(signal.SIGTERM)
        async with asyncio.timeout(20):
            assert await process.wait() == 1
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()
    result = json.loads((tmp_path / "result-command.json").read_text())
    assert result["details"]["error"] == "terminated"
    assert result["summary"].startswith("terminated by SIGTERM")
