"""The partition relay: bytes cross both ways until a cut; a cut makes open and new
connections hang (no data, no end, no reset) in both directions; heal ends what lived
through the cut and relays again; close ends everything. And the kubeconfig that points a
replica at the relay."""

from __future__ import annotations

import asyncio
import stat
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import yaml

from hack.bench.operatorproc import free_port
from hack.chaos.partition import Partition, proxied_kubeconfig

#: How long something that must happen may take (it takes milliseconds on loopback).
PATIENCE = 5.0
#: How long a test watches for something that must not happen (a relay takes far less).
ABSENCE = 0.2

Pair = tuple[asyncio.StreamReader, asyncio.StreamWriter]


@dataclass
class Rig:
    """A partition in front of a stand-in API server that hands each connection it accepts
    to the test, so each direction of a relay is checked on its own (an echo could not
    tell which direction a cut stopped)."""

    upstream: asyncio.Server
    partition: Partition
    accepted: asyncio.Queue[Pair]
    writers: list[asyncio.StreamWriter] = field(default_factory=list)

    async def connect(self) -> Pair:
        reader, writer = await asyncio.open_connection("127.0.0.1", self.partition.port)
        self.writers.append(writer)
        return reader, writer

    async def relayed(self) -> tuple[Pair, Pair]:
        """A client connection and the upstream end the partition made for it."""
        client = await self.connect()
        upstream = await asyncio.wait_for(self.accepted.get(), PATIENCE)
        self.writers.append(upstream[1])
        return client, upstream


@pytest.fixture
async def rig() -> AsyncIterator[Rig]:
    accepted: asyncio.Queue[Pair] = asyncio.Queue()

    def accept(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        accepted.put_nowait((reader, writer))

    upstream = await asyncio.start_server(accept, "127.0.0.1", 0)
    partition = Partition("127.0.0.1", int(upstream.sockets[0].getsockname()[1]))
    await partition.start()
    rig = Rig(upstream, partition, accepted)
    yield rig
    await partition.close()
    for writer in rig.writers:
        writer.transport.abort()
    upstream.close()
    await upstream.wait_closed()


async def crosses(sender: Pair, receiver: Pair, data: bytes) -> None:
    sender[1].write(data)
    await sender[1].drain()
    assert await asyncio.wait_for(receiver[0].readexactly(len(data)), PATIENCE) == data


async def relays(client: Pair, upstream: Pair) -> None:
    await crosses(client, upstream, b"request")
    await crosses(upstream, client, b"response")


async def hangs(sender: Pair, receiver: Pair) -> None:
    """What ``sender`` writes never reaches ``receiver``, which sees no end either (a read
    would then return b"" or raise a reset at once, not time out)."""
    sender[1].write(b"into the void")
    await sender[1].drain()
    with pytest.raises(TimeoutError):
        await asyncio.wait_for(receiver[0].read(1024), ABSENCE)


async def ends(end: Pair) -> None:
    """The connection is closed or reset, with no bytes first."""
    try:
        data = await asyncio.wait_for(end[0].read(1024), PATIENCE)
    except ConnectionResetError:
        return
    assert data == b""


async def test_bytes_cross_both_ways(rig: Rig) -> None:
    client, upstream = await rig.relayed()
    await relays(client, upstream)
    await relays(client, upstream)  # and keep crossing
    assert not rig.partition.is_cut


async def test_a_half_close_passes_through_and_the_reply_still_arrives(rig: Rig) -> None:
    client, upstream = await rig.relayed()
    client[1].write(b"last words")
    client[1].write_eof()
    assert await asyncio.wait_for(upstream[0].read(), PATIENCE) == b"last words"
    upstream[1].write(b"reply")
    upstream[1].close()
    assert await asyncio.wait_for(client[0].read(), PATIENCE) == b"reply"


async def test_a_cut_black_holes_an_open_connection_both_ways(rig: Rig) -> None:
    client, upstream = await rig.relayed()
    await relays(client, upstream)
    rig.partition.cut()
    assert rig.partition.is_cut
    await hangs(client, upstream)
    await hangs(upstream, client)


async def test_a_connection_made_in_a_cut_is_held_and_never_reaches_upstream(
    rig: Rig,
) -> None:
    rig.partition.cut()
    client = await rig.connect()  # accepted: a refusal would be no black hole
    client[1].write(b"anyone there?")
    await client[1].drain()
    with pytest.raises(TimeoutError):
        await asyncio.wait_for(client[0].read(1024), ABSENCE)
    assert rig.accepted.empty()


async def test_heal_ends_the_connections_of_the_cut_and_new_ones_relay(rig: Rig) -> None:
    old_client, old_upstream = await rig.relayed()
    rig.partition.cut()
    await hangs(old_client, old_upstream)
    held = await rig.connect()
    rig.partition.heal()
    assert not rig.partition.is_cut
    await ends(old_client)
    await ends(old_upstream)
    await ends(held)
    assert rig.accepted.empty()  # the held connection was never connected, even at heal
    await relays(*await rig.relayed())


async def test_heal_without_a_cut_leaves_connections_alone(rig: Rig) -> None:
    client, upstream = await rig.relayed()
    rig.partition.heal()
    await relays(client, upstream)


async def test_close_ends_relayed_connections_and_stops_listening(rig: Rig) -> None:
    client, upstream = await rig.relayed()
    await relays(client, upstream)
    port = rig.partition.port
    await rig.partition.close()
    await ends(client)
    await ends(upstream)
    with pytest.raises(ConnectionRefusedError):
        await asyncio.open_connection("127.0.0.1", port)


async def test_close_ends_the_connections_of_a_cut(rig: Rig) -> None:
    client, upstream = await rig.relayed()
    rig.partition.cut()
    held = await rig.connect()
    await rig.partition.close()
    await ends(client)
    await ends(upstream)
    await ends(held)


async def test_an_unreachable_upstream_ends_the_client_connection() -> None:
    partition = Partition("127.0.0.1", free_port())  # nothing listens there
    await partition.start()
    try:
        reader, writer = await asyncio.open_connection("127.0.0.1", partition.port)
        await ends((reader, writer))
        writer.transport.abort()
    finally:
        await partition.close()


def _kubeconfig(first: str, second: str) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "Config",
        "current-context": "a",
        "clusters": [
            {"name": "a", "cluster": {"server": first, "certificate-authority-data": "Q0E="}},
            {"name": "b", "cluster": {"server": second, "insecure-skip-tls-verify": True}},
        ],
        "contexts": [
            {"name": "a", "context": {"cluster": "a", "user": "u", "namespace": "n"}},
            {"name": "b", "context": {"cluster": "b", "user": "u"}},
        ],
        "users": [{"name": "u", "user": {"client-key-data": "S0VZ", "token": "t"}}],
    }


def test_proxied_kubeconfig_moves_every_server_and_keeps_the_rest(tmp_path: Path) -> None:
    original = tmp_path / "kubeconfig"
    text = yaml.safe_dump(_kubeconfig("https://10.0.0.5:6443", "https://kind.test/prefix"))
    original.write_text(text)
    out = tmp_path / "proxied"
    assert proxied_kubeconfig(original, 4321, out) == out
    assert yaml.safe_load(out.read_text()) == _kubeconfig(
        "https://127.0.0.1:4321", "https://127.0.0.1:4321/prefix"
    )
    assert original.read_text() == text
    assert stat.S_IMODE(out.stat().st_mode) == 0o600  # it holds the user's credentials
