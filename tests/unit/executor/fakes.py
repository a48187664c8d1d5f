"""Fakes of the executor's I/O seams (resolver, HTTP peer, Kafka producer) for unit tests."""

from __future__ import annotations

import ipaddress
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import httpx

from almanac.executor.netguard import IPAddress

__all__ = ["FakeProducer", "FakeResolver", "RecordingPeer", "RecordingProducers", "SentRecord"]


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
