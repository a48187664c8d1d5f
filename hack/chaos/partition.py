"""A network partition between one operator replica and the API server, and nothing else.

Killing or freezing a replica is not the same fault: a partitioned leader still runs, its
metrics still answer, and its requests neither fail nor succeed, they hang, as packets
dropped by a broken network would. Only then do the renew deadline and the other replicas'
takeover get tested the way a real partition tests them. The replica is given a kubeconfig
whose server is a :class:`Partition`, a plain TCP relay to the real API server (TLS passes
through untouched), which can black-hole its traffic at will.
"""

from __future__ import annotations

import asyncio
import os
import socket
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import yaml

__all__ = ["Partition", "proxied_kubeconfig"]

#: How much a relay reads at a time.
CHUNK = 64 * 1024


@dataclass(eq=False)
class _Link:
    """One client connection and, once connected, its upstream twin.

    ``doomed`` is set for every link that lived through a cut: from then on it forwards
    nothing, not even an end or a reset of one side, and heal ends it.
    """

    client: asyncio.StreamWriter
    doomed: bool
    upstream: asyncio.StreamWriter | None = None
    task: asyncio.Task[None] | None = None

    def writers(self) -> list[asyncio.StreamWriter]:
        return [w for w in (self.client, self.upstream) if w is not None]


@dataclass(eq=False)
class Partition:
    """A TCP relay from 127.0.0.1:``port`` to ``host``:``upstream_port`` that can be cut
    and healed."""

    host: str
    upstream_port: int
    _server: asyncio.Server | None = None
    _links: set[_Link] = field(default_factory=set)
    _cut: bool = False
    _closed: bool = False

    @property
    def port(self) -> int:
        """The port clients connect to (chosen by the kernel, so never taken)."""
        if self._server is None:
            raise RuntimeError("the partition is not started")
        return int(self._server.sockets[0].getsockname()[1])

    @property
    def is_cut(self) -> bool:
        """Whether a cut is on (``cut`` names the method that starts one)."""
        return self._cut

    async def start(self, sock: socket.socket | None = None) -> None:
        """Listen on ``sock`` (bound and listening already: a caller that must hand out the
        port at once, before the loop runs this, binds it itself) or a new port."""
        if sock is not None:
            self._server = await asyncio.start_server(self._accept, sock=sock)
        else:
            self._server = await asyncio.start_server(self._accept, "127.0.0.1", 0)

    def cut(self) -> None:
        """Black-hole every connection, open or to come, until :meth:`heal`.

        Nothing is closed or refused: a refusal or a reset would tell the client at once,
        a silent network makes it wait for its own timeouts, which is what is under test.
        """
        self._cut = True
        for link in self._links:
            link.doomed = True

    def heal(self) -> None:
        """End the cut, and every connection that lived through it.

        Their byte streams have gaps (whatever was dropped), so they cannot resume; a real
        network would reset them too once the state for them expired. Clients reconnect.
        """
        self._cut = False
        for link in [link for link in self._links if link.doomed]:
            self._end(link)

    async def close(self) -> None:
        """Stop listening and end every connection, relayed or held."""
        self._closed = True
        if self._server is not None:
            self._server.close()
        tasks = [link.task for link in self._links if link.task is not None]
        for link in list(self._links):
            self._end(link)
        await asyncio.gather(*tasks, return_exceptions=True)
        if self._server is not None:
            await self._server.wait_closed()

    def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        if self._closed:  # accepted by the kernel just before close() stopped listening
            writer.transport.abort()
            return
        link = _Link(writer, doomed=self._cut)
        self._links.add(link)
        if not link.doomed:  # a link born in a cut is held: never connected, never read
            link.task = asyncio.create_task(self._relay(link, reader))

    def _end(self, link: _Link) -> None:
        """Reset both sides at once: closing politely would wait on a peer that may never
        read its pending bytes, and the relay is gone by then anyway."""
        self._links.discard(link)
        if link.task is not None and link.task is not asyncio.current_task():
            link.task.cancel()
        for writer in link.writers():
            writer.transport.abort()

    async def _relay(self, link: _Link, reader: asyncio.StreamReader) -> None:
        try:
            upstream_reader, link.upstream = await asyncio.open_connection(
                self.host, self.upstream_port
            )
        except OSError:
            if not link.doomed:  # refused: the client sees it as a reset
                self._end(link)
            return
        await asyncio.gather(
            self._pump(link, reader, link.upstream),
            self._pump(link, upstream_reader, link.client),
        )
        if not link.doomed:  # both directions ended: a normal close, pending bytes flushed
            self._links.discard(link)
            for writer in link.writers():
                writer.close()

    async def _pump(
        self, link: _Link, source: asyncio.StreamReader, sink: asyncio.StreamWriter
    ) -> None:
        """Copy one direction until a cut, then read no more (what was read as the cut came
        is dropped): the sender's buffers fill and its writes block, as over a dead
        network. Heal or close cancels the wait. An end is passed on as a half-close (the
        other direction may still carry a reply), an error as a reset of both sides."""
        try:
            while (data := await source.read(CHUNK)) and not link.doomed:
                sink.write(data)
                await sink.drain()
            if link.doomed:
                await asyncio.get_running_loop().create_future()
            if sink.can_write_eof():
                sink.write_eof()
        except OSError:
            if not link.doomed:
                self._end(link)


def proxied_kubeconfig(kubeconfig: Path, port: int, out: Path) -> Path:
    """``kubeconfig`` with every cluster's server moved to 127.0.0.1:``port``, written to
    ``out``. The scheme and any path stay; TLS still verifies as the API server's
    certificate names 127.0.0.1. ``out`` holds the same credentials, so only its owner may
    read it."""
    config = yaml.safe_load(kubeconfig.read_text())
    for entry in config.get("clusters") or []:
        server = urlsplit(entry["cluster"]["server"])
        entry["cluster"]["server"] = urlunsplit(server._replace(netloc=f"127.0.0.1:{port}"))
    descriptor = os.open(out, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "w") as file:
        yaml.safe_dump(config, file, sort_keys=False)
    return out
