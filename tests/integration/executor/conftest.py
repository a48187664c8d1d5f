"""Fixtures of the executor integration tests: run ``python -m almanac.executor`` for real."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.integration.executor.peers import ExportServiceFake, RecordingServer, free_port, serve

RUN_ENV = {
    "ALMANAC_RUN": "nightly-202601010200",
    "ALMANAC_SCHEDULEDJOB": "nightly",
    "ALMANAC_NAMESPACE": "org-000101",
    "ALMANAC_SLOT": "2026-01-01T02:00:00Z",
    "ALMANAC_ATTEMPT": "1",
    "ALMANAC_TRIGGER": "schedule",
}
#: No executor run may take longer than this; a hang fails the test instead of the suite.
RUN_TIMEOUT = 60


@dataclass(frozen=True)
class ExecutorRun:
    code: int
    result: dict[str, Any]
    logs: list[dict[str, Any]]
    stderr: str

    @property
    def details(self) -> dict[str, Any]:
        details: dict[str, Any] = self.result["details"]
        return details


RunExecutor = Callable[..., ExecutorRun]


@pytest.fixture
def secrets_dir(tmp_path: Path) -> Path:
    path = tmp_path / "secrets"
    path.mkdir()
    return path


def write_secret(root: Path, name: str, key: str, value: str) -> dict[str, Any]:
    """Mount-like Secret file; returns the params reference to it."""
    (root / name).mkdir(exist_ok=True)
    (root / name / key).write_text(value)
    return {"secretKeyRef": {"name": name, "key": key}}


def executor_env(
    tmp_path: Path, secrets_dir: Path, template: str, params: dict[str, Any], **env: str
) -> dict[str, str]:
    """The run pod's environment for ``template`` (result and secrets under ``tmp_path``)."""
    base = {k: v for k, v in os.environ.items() if not k.startswith("ALMANAC_")}
    return (
        base
        | RUN_ENV
        | {
            "ALMANAC_TEMPLATE": template,
            "ALMANAC_PARAMS": json.dumps(params),
            "ALMANAC_RESULT_PATH": str(tmp_path / f"result-{template}.json"),
            "ALMANAC_SECRETS_DIR": str(secrets_dir),
        }
        | env
    )


@pytest.fixture
def run_executor(tmp_path: Path, secrets_dir: Path) -> RunExecutor:
    """Run the executor as the pod does: a subprocess, the template's ``args`` and the run's
    env in, result file + exit code out."""

    def run(
        template: str, params: dict[str, Any], *, args: Sequence[str] = (), **env: str
    ) -> ExecutorRun:
        result_path = tmp_path / f"result-{template}.json"
        full_env = executor_env(tmp_path, secrets_dir, template, params, **env)
        done = subprocess.run(
            [sys.executable, "-m", "almanac.executor", *args],
            env=full_env,
            capture_output=True,
            text=True,
            timeout=RUN_TIMEOUT,
            check=False,
        )
        assert "Traceback" not in done.stdout + done.stderr, done.stderr
        logs = [json.loads(line) for line in done.stdout.splitlines()]
        result = json.loads(result_path.read_text())
        assert len(result_path.read_bytes()) <= 4096
        assert done.returncode == (0 if result["status"] == "succeeded" else 1)
        return ExecutorRun(done.returncode, result, logs, done.stderr)

    return run


@pytest.fixture
def http_peer() -> Iterator[RecordingServer]:
    with serve(RecordingServer()) as peer:
        yield peer


@pytest.fixture
def export_service() -> Iterator[ExportServiceFake]:
    with serve(ExportServiceFake()) as peer:
        assert isinstance(peer, ExportServiceFake)
        yield peer


@pytest.fixture
def closed_port() -> int:
    """A 127.0.0.1 port with nothing listening."""
    return free_port()


@pytest.fixture
def silent_port() -> Iterator[int]:
    """A 127.0.0.1 port that accepts connections (backlog) but never answers."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen(8)
        yield int(sock.getsockname()[1])
