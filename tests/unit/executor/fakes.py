"""Fakes of the executor's I/O seams (resolver, HTTP peer, Kafka producer) for unit tests,
and :func:`watch_network`, which sees (and blocks) the sockets code opens without a seam."""

from __future__ import annotations

import ipaddress
import sys
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import httpx

from almanac.executor.netguard import IPAddress

__all__ = [
    "FakeProducer",
    "FakeResolver",
    "NetworkBlockedError",
    "NetworkLog",
    "RecordingPeer",
    "RecordingProducers",
    "SentRecord",
    "watch_network",
]


class FakeResolver:
    """Answers from a fixed table and records every question; never touches the network."""

    def __init__(self, table: Mapping[str, list[str]]) -> None:
        self.table = {
            host: [ipaddress.ip_address(a) for a in addrs] for host, addrs in table.items()
        }
        self.asked: list[str] = []

    async def resolve(self, host: str, port: int) -> list[IPAddress]:
        self.asked.append(host)
        if host not in self.table:
            raise OSError(f"[Errno -2] Name or service not known: {host}")
        return list(self.table[host])


class RecordingPeer:
    """An in-memory HTTP peer (httpx transport): records requests, answers with ``reply``."""

    def __init__(self, reply: Callable[[httpx.Request], httpx.Response] | None = None) -> None:
        self.requests: list[httpx.Request] = []
        self._reply = reply or (lambda request: httpx.Response(200, text="ok"))

    def handle(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        return self._reply(request)

    def client(self) -> httpx.AsyncClient:
        return httpx.AsyncClient(transport=httpx.MockTransport(self.handle), trust_env=False)


@dataclass(frozen=True)
class SentRecord:
    """One record a fake producer was asked to send (its ack is partition 0, offset n)."""

    topic: str
    value: bytes | None
    key: bytes | None
    headers: list[tuple[str, bytes]]
    partition: int = 0
    offset: int = 0


@dataclass
class RecordingProducers:
    """A ``ProducerFactory``: records every producer made (its aiokafka keyword arguments,
    i.e. every would-be connection) and every record sent; never touches the network."""

    made: list[dict[str, Any]] = field(default_factory=list)
    sent: list[SentRecord] = field(default_factory=list)

    def __call__(self, **options: Any) -> FakeProducer:
        self.made.append(options)
        return FakeProducer(self.sent)


@dataclass
class FakeProducer:
    """Acknowledges every send at once, appending it to ``sent`` (offsets count from 0)."""

    sent: list[SentRecord]

    async def start(self) -> None:
        pass

    async def send_and_wait(
        self,
        topic: str,
        value: bytes | None = None,
        key: bytes | None = None,
        *,
        headers: Sequence[tuple[str, bytes]] | None = None,
    ) -> SentRecord:
        record = SentRecord(topic, value, key, list(headers or ()), offset=len(self.sent))
        self.sent.append(record)
        return record

    async def stop(self) -> None:
        pass


class NetworkBlockedError(OSError):
    """Raised inside a socket call that :func:`watch_network` refused to let through."""


@dataclass
class NetworkLog:
    """Name lookups and connections attempted while watched (``host`` / ``host:port``)."""

    lookups: list[str] = field(default_factory=list)
    connects: list[str] = field(default_factory=list)


_WATCHED: list[NetworkLog] = []
_HOOKED: list[bool] = []


def _loopback_literal(host: object) -> bool:
    text = host.decode() if isinstance(host, bytes) else str(host)
    try:
        return ipaddress.ip_address(text.split("%")[0]).is_loopback
    except ValueError:
        return False


def _audit(event: str, args: tuple[Any, ...]) -> None:
    """Audit hook: while a log is watched, record lookups and connects; let only loopback
    IP literals through (raising aborts the call before any packet, as audit hooks may)."""
    if not _WATCHED or not event.startswith("socket."):
        return
    log = _WATCHED[-1]
    if event in {"socket.getaddrinfo", "socket.gethostbyname", "socket.gethostbyaddr"}:
        host = args[0].decode() if isinstance(args[0], bytes) else str(args[0])
        log.lookups.append(host)
        if not _loopback_literal(host):
            raise NetworkBlockedError(f"test blocked a lookup of {host!r}")
    elif event == "socket.connect" and isinstance(args[1], tuple):
        host, port = args[1][0], args[1][1]
        log.connects.append(f"{host}:{port}")
        if not _loopback_literal(host):
            raise NetworkBlockedError(f"test blocked a connection to {host}:{port}")


@contextmanager
def watch_network() -> Iterator[NetworkLog]:
    """Record every name lookup and connection in this block; block all but loopback IPs.

    For code whose sockets have no seam (smtplib): a test proves "refused before any
    connection" by an empty log, and a guard that failed would be stopped here instead of
    sending a packet. The audit hook stays installed (hooks cannot be removed) but is
    inert outside the block.
    """
    if not _HOOKED:
        sys.addaudithook(_audit)
        _HOOKED.append(True)
    log = NetworkLog()
    _WATCHED.append(log)
    try:
        yield log
    finally:
        _WATCHED.remove(log)
