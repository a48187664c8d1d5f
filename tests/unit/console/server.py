"""The facade (REST and console over the in-memory fakes) served by uvicorn on a local
port from a thread, for a real browser to load."""

from __future__ import annotations

import asyncio
import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import uvicorn

from almanac.api import ApiSettings
from almanac.api.service import JobService
from tests.support.runstore import InMemoryRunStore
from tests.support.waiting import eventually
from tests.unit.console.fakes import MemoryKube, make_app

__all__ = ["Served", "served"]


@dataclass
class Served:
    url: str
    kube: MemoryKube
    store: InMemoryRunStore
    service: JobService


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextmanager
def served(settings: ApiSettings | None = None) -> Iterator[Served]:
    app, kube, store, service = make_app(settings)
    port = _free_port()
    server = uvicorn.Server(
        uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="off")
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    asyncio.run(eventually(lambda: server.started or None, timeout=20, what="uvicorn to start"))
    try:
        yield Served(f"http://127.0.0.1:{port}", kube, store, service)
    finally:
        server.should_exit = True
        thread.join(20)
