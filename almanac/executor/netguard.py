"""Egress guard (SSRF): refuse internal addresses before any connection is made.

A ScheduledJob author controls the URL of an ``http`` or ``export`` run, and the run pod
sits inside the cluster network. Without a guard, ``http://169.254.169.254/`` (cloud
metadata), the API server or a neighbour's database would be one param away. The rule:

1. resolve the host once (IP literals are not resolved);
2. refuse if *any* resolved address is loopback, link-local, private (RFC 1918, CGNAT
   100.64/10, ULA fc00::/7), unspecified, multicast, reserved or otherwise not globally
   routable - unless it falls inside a CIDR the policy allows: the template's
   ``--allow-cidrs`` argument (set by the template's owner) or the operator-wide
   ``ALMANAC_HTTP_ALLOW_CIDRS``;
3. connect to the vetted address itself (the caller pins it), so a second DNS answer
   cannot swap in another address between check and connect (DNS rebinding).

The resolver is injected, so tests decide what a name resolves to and no packet is sent.
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Final, Protocol

from almanac.executor.environment import IPNetwork
from almanac.executor.errors import PayloadFailedError, RefusedTargetError

__all__ = [
    "IPAddress",
    "Resolver",
    "SystemResolver",
    "VettedTarget",
    "classify_address",
    "vet_host",
]

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

_CGNAT: Final = ipaddress.ip_network("100.64.0.0/10")
_METADATA: Final = ipaddress.ip_address("169.254.169.254")
_RESOLVE_TIMEOUT: Final = 10.0


class Resolver(Protocol):
    """Turns a host name into the addresses a connection could use."""

    async def resolve(self, host: str, port: int) -> list[IPAddress]: ...


class SystemResolver:
    """The system resolver (``getaddrinfo``), bounded by a timeout."""

    async def resolve(self, host: str, port: int) -> list[IPAddress]:
        loop = asyncio.get_running_loop()
        async with asyncio.timeout(_RESOLVE_TIMEOUT):
            infos = await loop.getaddrinfo(host, port, type=socket.SOCK_STREAM)
        # sockaddr[0] may carry an IPv6 scope ("fe80::1%eth0"); the scope is not the address.
        return [ipaddress.ip_address(str(info[4][0]).split("%")[0]) for info in infos]


def _unmapped(address: IPAddress) -> IPAddress:
    """``::ffff:10.0.0.1`` → ``10.0.0.1``: judged, allowed and connected to as IPv4."""
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return address.ipv4_mapped
    return address


def classify_address(address: IPAddress) -> str | None:
    """Why ``address`` is internal (``"loopback"``, ``"private"`` ...), or ``None`` if public.

    IPv4-mapped IPv6 addresses (``::ffff:10.0.0.1``) are judged as the IPv4 they carry.
    """
    address = _unmapped(address)
    if address.is_unspecified:
        return "unspecified"
    if address.is_loopback:
        return "loopback"
    if address == _METADATA:
        return "link-local (cloud metadata service)"
    if address.is_link_local:
        return "link-local"
    if address.is_multicast:
        return "multicast"
    if isinstance(address, ipaddress.IPv4Address) and address in _CGNAT:
        return "shared address space (CGNAT 100.64.0.0/10)"
    if address.is_private:
        return "private"
    if address.is_reserved:
        return "reserved"
    if not address.is_global:
        return "not globally routable"
    return None


@dataclass(frozen=True)
class VettedTarget:
    """A host and the address a connection must use (the one that was checked)."""

    host: str
    port: int
    address: IPAddress


def _allowed(address: IPAddress, allow: Sequence[IPNetwork]) -> bool:
    return any(address.version == net.version and address in net for net in allow)


async def vet_host(
    host: str, port: int, *, resolver: Resolver, allow: Sequence[IPNetwork], field: str
) -> VettedTarget:
    """Resolve ``host`` and return the address to connect to, or refuse.

    Raises
    ------
    RefusedTargetError
        An address is internal and outside ``allow``; nothing was connected to.
    PayloadFailedError
        The name does not resolve.
    """
    try:
        addresses = [ipaddress.ip_address(host.strip("[]"))]
    except ValueError:
        try:
            addresses = await resolver.resolve(host, port)
        except (OSError, TimeoutError) as exc:
            raise PayloadFailedError(
                f"cannot resolve host {host!r} ({exc}); check the name in the URL", field
            ) from None
    if not addresses:
        raise PayloadFailedError(f"host {host!r} resolves to no address", field)
    addresses = [_unmapped(address) for address in addresses]
    for address in addresses:
        reason = classify_address(address)
        if reason is not None and not _allowed(address, allow):
            allowed = [str(net) for net in allow]
            raise RefusedTargetError(
                f"refused: {host!r} resolves to {address}, a {reason} address; runs may only "
                "reach public addresses and the networks their template's policy allows "
                f"(now: {', '.join(allowed) or 'none'}). Use a public endpoint, or ask the "
                "template's owner to add the network (--allow-cidrs in the template's args; "
                "ALMANAC_HTTP_ALLOW_CIDRS on the operator for every template)",
                field,
                {"host": host, "address": str(address), "reason": reason, "allowed": allowed},
            )
    return VettedTarget(host, port, addresses[0])
