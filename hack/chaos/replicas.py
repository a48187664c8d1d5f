"""The chaos suite's operator replicas: host processes under one Lease, watching only the
suite's namespace, each restarted under a new identity after a kill (a new pod, as a
Deployment would make it)."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from hack.bench.operatorproc import free_port

__all__ = ["Replicas"]


@dataclass
class _Replica:
    identity: str
    port: int
    process: subprocess.Popen[bytes]


@dataclass
class Replicas:
    """``count`` operator replicas of the Lease ``chaos`` in ``namespace``."""

    env: dict[str, str]
    namespace: str
    logs: Path
    count: int = 3
    _live: list[_Replica] = field(default_factory=list)
    _started: int = 0

    def start_all(self) -> None:
        for _ in range(self.count):
            self._start()

    def _start(self) -> _Replica:
        self._started += 1
        identity, port = f"chaos-{self._started}", free_port()
        env = dict(
            os.environ,
            **self.env,
            ALMANAC_WATCH_NAMESPACES=self.namespace,
            ALMANAC_LEASE_NAMESPACE=self.namespace,
            ALMANAC_LEASE_NAME="chaos",
            ALMANAC_IDENTITY=identity,
            ALMANAC_METRICS_PORT=str(port),
        )
        with (self.logs / f"{identity}.log").open("wb") as out:
            process = subprocess.Popen(
                [sys.executable, "-m", "almanac", "operator"],
                env=env,
                stdout=out,
                stderr=subprocess.STDOUT,
            )
        replica = _Replica(identity, port, process)
        self._live.append(replica)
        return replica

    def ports(self) -> Iterator[tuple[str, int]]:
        """(identity, metrics port) of every replica now running."""
        return iter([(r.identity, r.port) for r in self._live if r.process.poll() is None])

    def pid(self, identity: str) -> int:
        """The process id of a running replica."""
        return next(r.process.pid for r in self._live if r.identity == identity)

    def kill(self, identity: str) -> str:
        """SIGKILL one replica (no Lease release) and start its successor; its identity."""
        victim = next(r for r in self._live if r.identity == identity)
        victim.process.kill()
        victim.process.wait()
        self._live.remove(victim)
        return self._start().identity

    def stop_all(self) -> None:
        """SIGTERM each, then wait (a clean stop releases the Lease)."""
        for replica in self._live:
            replica.process.terminate()
        for replica in self._live:
            try:
                replica.process.wait(20)
            except subprocess.TimeoutExpired:
                replica.process.kill()
                replica.process.wait()
        self._live.clear()

    def crashed(self) -> list[str]:
        """Replicas that exited on their own (a crash the suite did not cause)."""
        return [r.identity for r in self._live if r.process.poll() is not None]
