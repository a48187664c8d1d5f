"""The ``email`` payload's SMTP host goes through the egress guard before any connection.

smtplib has no seam, so :func:`watch_network` sees every lookup and connection (and lets
only loopback literals through): a refusal must leave its log empty, and an allowed
host must be reached at the vetted address, never looked up again. Every peer here is
a closed 127.0.0.1 port or nothing at all.
"""

from __future__ import annotations

import ipaddress
import socket
from pathlib import Path
from typing import Any

import pytest

from almanac.executor.environment import Settings
from almanac.executor.errors import PayloadFailedError, RefusedTargetError
from almanac.executor.payloads.email import execute
from tests.unit.executor.fakes import FakeResolver, watch_network
from tests.unit.executor.support import make_context

RESOLVER = FakeResolver(
    {
        "smtp.internal.example": ["10.0.0.25"],
        "metadata.example": ["169.254.169.254"],
        "mixed.example": ["93.184.216.34", "192.168.1.25"],
        "relay.example": ["2002:a00:19::"],
        "mail.example": ["127.0.0.1"],
    }
)


def mail(host: str, port: int = 2525) -> dict[str, Any]:
    return {
        "host": host,
        "port": port,
        "security": "none",
        "from": "almanac@example.com",
        "to": ["ops@example.com"],
        "subject": "Nightly",
        "body": "done",
        "timeout": "5s",
    }


def settings(tmp_path: Path, *allow: str) -> Settings:
    return Settings(
        result_path=tmp_path / "result.json",
        secrets_dir=tmp_path / "secrets",
        allow_cidrs=tuple(ipaddress.ip_network(cidr) for cidr in allow),
    )


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


#: name -> (params.host, reason the guard gives)
REFUSED: dict[str, tuple[str, str]] = {
    "loopback-literal": ("127.0.0.1", "loopback"),
    "private-literal": ("10.1.2.3", "private"),
    "name-resolving-to-private": ("smtp.internal.example", "private"),
    "name-resolving-to-metadata": ("metadata.example", "link-local (cloud metadata service)"),
    "one-internal-answer-among-public": ("mixed.example", "private"),
    "6to4-embedding-private": ("relay.example", "6to4 (embeds 10.0.0.25, private)"),
}


@pytest.mark.parametrize("name", sorted(REFUSED))
async def test_internal_smtp_host_is_refused_before_any_connection(
    tmp_path: Path, name: str
) -> None:
    host, reason = REFUSED[name]
    ctx = make_context(tmp_path, "email", RESOLVER, settings=settings(tmp_path))
    with watch_network() as network, pytest.raises(RefusedTargetError) as caught:
        await execute(mail(host), ctx)
    assert caught.value.field == "params.host"
    assert caught.value.details["reason"] == reason
    assert "--allow-cidrs" in caught.value.message
    assert "ALMANAC_HTTP_ALLOW_CIDRS" in caught.value.message
    assert (network.lookups, network.connects) == ([], [])


async def test_allowed_host_is_reached_at_the_vetted_address(tmp_path: Path) -> None:
    port = closed_port()
    ctx = make_context(tmp_path, "email", RESOLVER, settings=settings(tmp_path, "127.0.0.0/8"))
    with watch_network() as network, pytest.raises(PayloadFailedError) as caught:
        await execute(mail("mail.example", port), ctx)
    assert f"cannot talk to SMTP mail.example:{port}" in caught.value.message
    assert network.connects == [f"127.0.0.1:{port}"]
    assert "mail.example" not in network.lookups, "the guard's answer is used, not a new lookup"


async def test_unresolvable_host_fails_naming_the_field(tmp_path: Path) -> None:
    ctx = make_context(tmp_path, "email", RESOLVER, settings=settings(tmp_path))
    with watch_network() as network, pytest.raises(PayloadFailedError) as caught:
        await execute(mail("nowhere.invalid"), ctx)
    assert caught.value.field == "params.host"
    assert "check the host name in params.host" in caught.value.message
    assert network.connects == []
