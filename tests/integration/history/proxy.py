"""A loopback TCP port that refuses connections until told to forward to a real server.

It stands for "Postgres is down, then comes back" without touching the shared server:
before :meth:`LateProxy.start` the port is closed (connection refused), after it every
connection is piped to the target.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket

__all__ = ["LateProxy", "closed_port"]


def closed_port() -> int:
    """A loopback port nothing listens on (bound, then released)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


async def _pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    try:
        while data := await reader.read(65536):
            writer.write(data)
            await writer.drain()
    except (ConnectionError, asyncio.CancelledError):
        pass
    finally:
        writer.close()


class LateProxy:
    """Forward ``127.0.0.1:port`` to ``target`` once started."""

    def __init__(self, target_host: str, target_port: int) -> None:
        self.port = closed_port()
        self.target = (target_host, target_port)
        self._server: asyncio.Server | None = None
        self._tasks: set[asyncio.Task[None]] = set()

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        up_reader, up_writer = await asyncio.open_connection(*self.target)
        for task in (_pipe(reader, up_writer), _pipe(up_reader, writer)):
            t = asyncio.create_task(task)
            self._tasks.add(t)
            t.add_done_callback(self._tasks.discard)

    async def start(self) -> None:
        self._server = await asyncio.start_server(self._handle, "127.0.0.1", self.port)

    async def stop(self) -> None:
        if self._server is not None:
            self._server.close()
            with contextlib.suppress(Exception):
                await self._server.wait_closed()
        for task in list(self._tasks):
            task.cancel()
