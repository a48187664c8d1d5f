"""Fakes of the executor's I/O seams (resolver, HTTP peer) for unit tests."""

from __future__ import annotations

import ipaddress
from collections.abc import Callable, Mapping

import httpx

from almanac.executor.netguard import IPAddress

__all__ = ["FakeResolver", "RecordingPeer"]


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
