"""Run the operator as a real subprocess (as `make dev` and the chart's pods do)."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

__all__ = ["OperatorProcess"]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class OperatorProcess:
    """One operator replica; its JSON log goes to ``log``."""

    identity: str
    lease_name: str
    lease_namespace: str
    log: Path
    metrics_port: int = field(default_factory=_free_port)
    env: dict[str, str] = field(default_factory=dict)
    process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        env = (
            dict(
                os.environ,
                ALMANAC_IDENTITY=self.identity,
                ALMANAC_LEASE_NAME=self.lease_name,
                ALMANAC_LEASE_NAMESPACE=self.lease_namespace,
                ALMANAC_METRICS_PORT=str(self.metrics_port),
            )
            | self.env
        )
        with self.log.open("ab") as out:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "almanac", "operator"],
                stdout=out,
                stderr=subprocess.STDOUT,
                env=env,
            )

    @property
    def running(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def stop(self, timeout: float = 20) -> int | None:
        """SIGTERM (clean stop: the Lease is released) and wait."""
        if self.process is None:
            return None
        if self.running:
            self.process.send_signal(signal.SIGTERM)
        try:
            return self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            self.process.kill()
            return self.process.wait()

    def kill(self) -> None:
        """SIGKILL: a crash, the Lease is not released."""
        if self.process is not None and self.running:
            self.process.kill()
            self.process.wait()

    def log_text(self) -> str:
        return self.log.read_text(errors="replace") if self.log.exists() else ""
