"""The chaos suite's operator replicas: host processes under one Lease, watching only the
suite's namespace, each restarted under a new identity after it ends (a new pod, as a
Deployment would make it), each reaching the API server through a relay of its own that
the suite can cut (:mod:`hack.chaos.partition`).

A replica ends in one of three ways: the suite kills it; it loses the Lease (an API-server
outage longer than the renew deadline) and exits by design, as kube-controller-manager
does; or it crashes. Only the last is a failure, told apart by the log line a lost Lease
writes.
"""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import subprocess
import sys
from collections.abc import Coroutine, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import yaml

from hack.bench.operatorproc import free_port
from hack.chaos.partition import Partition, proxied_kubeconfig

__all__ = ["Exit", "Replicas"]

#: What a replica logs just before it exits on a lost Lease (almanac.operator.main).
LEASE_LOST = b"lease lost"
#: How much of a crashed replica's log the report shows.
TAIL_BYTES = 4000


@dataclass
class _Replica:
    identity: str
    port: int
    process: subprocess.Popen[bytes]
    log: Path
    #: Its only way to the API server, so it alone can be cut off.
    partition: Partition
    serving: asyncio.Task[None]

    def retire(self) -> None:
        """Close its relay (in the background: the process is gone already)."""
        self.serving.cancel()
        _background(self.partition.close())


_closing: set[asyncio.Task[None]] = set()


def _background(coroutine: Coroutine[Any, Any, None]) -> None:
    task = asyncio.get_running_loop().create_task(coroutine)
    _closing.add(task)
    task.add_done_callback(_closing.discard)


def _api_server(kubeconfig: Path) -> tuple[str, int]:
    """Host and port of the (first) cluster's server."""
    server = urlsplit(yaml.safe_load(kubeconfig.read_text())["clusters"][0]["cluster"]["server"])
    return server.hostname or "127.0.0.1", server.port or 443


def _relay(
    api_server: tuple[str, int], kubeconfig: Path, out: Path
) -> tuple[Partition, asyncio.Task[None], Path]:
    """A relay to the API server on a port bound here and now (the replica starts at once),
    served by the running loop, and a kubeconfig pointing at it."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen(128)
    partition = Partition(*api_server)
    serving = asyncio.get_running_loop().create_task(partition.start(sock))
    return partition, serving, proxied_kubeconfig(kubeconfig, sock.getsockname()[1], out)


@dataclass(frozen=True)
class Exit:
    """A replica that ended without being killed by the suite."""

    identity: str
    code: int
    lease_lost: bool
    tail: str


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
        kubeconfig = Path(self.env["KUBECONFIG"])
        partition, serving, proxied = _relay(
            _api_server(kubeconfig), kubeconfig, self.logs / f"{identity}.kubeconfig"
        )
        env = dict(
            os.environ,
            **(self.env | {"KUBECONFIG": str(proxied)}),
            ALMANAC_WATCH_NAMESPACES=self.namespace,
            ALMANAC_LEASE_NAMESPACE=self.namespace,
            ALMANAC_LEASE_NAME="chaos",
            ALMANAC_IDENTITY=identity,
            ALMANAC_METRICS_PORT=str(port),
        )
        path = self.logs / f"{identity}.log"
        with path.open("wb") as out:
            process = subprocess.Popen(
                [sys.executable, "-m", "almanac", "operator"],
                env=env,
                stdout=out,
                stderr=subprocess.STDOUT,
            )
        replica = _Replica(identity, port, process, path, partition, serving)
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
        victim.retire()
        self._live.remove(victim)
        return self._start().identity

    def partition(self, identity: str) -> Partition:
        """The relay between one replica and the API server (cut it to partition them)."""
        return next(r.partition for r in self._live if r.identity == identity)

    def freeze(self, identity: str) -> None:
        """SIGSTOP one replica (a process paused past its Lease: GC, a VM stall)."""
        os.kill(self.pid(identity), signal.SIGSTOP)

    def thaw(self, identity: str) -> None:
        """SIGCONT a frozen replica, if it still exists."""
        for replica in self._live:
            if replica.identity == identity and replica.process.poll() is None:
                os.kill(replica.process.pid, signal.SIGCONT)

    def stop_all(self) -> None:
        """SIGTERM each, then wait (a clean stop releases the Lease)."""
        for replica in self._live:
            replica.process.terminate()
            if replica.process.poll() is None:
                os.kill(replica.process.pid, signal.SIGCONT)  # a frozen one must hear it
        for replica in self._live:
            try:
                replica.process.wait(20)
            except subprocess.TimeoutExpired:
                replica.process.kill()
                replica.process.wait()
            replica.retire()
        self._live.clear()

    def reap(self) -> list[Exit]:
        """Replicas that ended by themselves since the last call, each replaced at once."""
        ended = [r for r in self._live if r.process.poll() is not None]
        exits = []
        for replica in ended:
            replica.retire()
            self._live.remove(replica)
            text = replica.log.read_bytes()
            exits.append(
                Exit(
                    replica.identity,
                    replica.process.returncode,
                    LEASE_LOST in text,
                    text[-TAIL_BYTES:].decode(errors="replace"),
                )
            )
            self._start()
        return exits
