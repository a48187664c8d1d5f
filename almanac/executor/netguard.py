"""Egress guard (SSRF): refuse internal addresses before any connection is made.

A ScheduledJob author controls the targets of a run - the URL of an ``http`` or ``export``
run, the SMTP host of an ``email`` run, the Kafka brokers a ``message`` run names in its
params - and the run pod sits inside the cluster network. Without a guard,
``http://169.254.169.254/`` (cloud metadata), the API server or a neighbour's database
would be one param away. The rule:

1. resolve the host once (IP literals are not resolved);
2. refuse if *any* resolved address is loopback, link-local, private (RFC 1918, CGNAT
   100.64/10, ULA fc00::/7), IETF protocol assignments (192.0.0.0/24), deprecated
   site-local (fec0::/10), unspecified, multicast, reserved or otherwise not globally
   routable - unless it falls inside a CIDR the policy allows: the template's
   ``--allow-cidrs`` argument (set by the template's owner) or the operator-wide
   ``ALMANAC_HTTP_ALLOW_CIDRS`` (one allow-list for every guarded target, whatever the
   payload);
3. connect to the vetted address itself (the caller pins it), so a second DNS answer
   cannot swap in another address between check and connect (DNS rebinding).

IPv6 forms that carry an IPv4 address are judged by what they carry as well, because the
network delivers them there: IPv4-mapped ``::ffff:a.b.c.d`` is treated as the IPv4
itself; 6to4 (2002::/16), Teredo (2001::/32, server and client), the NAT64 well-known
prefix 64:ff9b::/96 and IPv4-compatible ``::a.b.c.d`` are refused when the IPv4 inside is.
The allow-list is matched against the address actually connected to, so allowing
10.0.0.0/8 does not admit ``2002:a00:1::`` (a 6to4 relay, not 10.0.0.1, gets the packets).

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
    "embedded_ipv4",
    "vet_host",
]

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

_CGNAT: Final = ipaddress.ip_network("100.64.0.0/10")
_IETF_PROTOCOL: Final = ipaddress.ip_network("192.0.0.0/24")
_SITE_LOCAL: Final = ipaddress.ip_network("fec0::/10")
_NAT64: Final = ipaddress.ip_network("64:ff9b::/96")
_IPV4_COMPATIBLE: Final = ipaddress.ip_network("::/96")
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


def embedded_ipv4(address: ipaddress.IPv6Address) -> list[tuple[str, ipaddress.IPv4Address]]:
    """The IPv4 addresses an IPv6 address carries, each with the mechanism that carries it.

    Packets to these forms end up at (or are relayed through) the IPv4 inside, so the
    guard must judge that IPv4 too: ``2002:a00:1::`` is 10.0.0.1 behind a 6to4 relay.
    ``::`` and ``::1`` are not IPv4-compatible addresses (RFC 4291 excludes them).
    """
    carried: list[tuple[str, ipaddress.IPv4Address]] = []
    if address.ipv4_mapped is not None:
        carried.append(("IPv4-mapped", address.ipv4_mapped))
    if address.sixtofour is not None:
        carried.append(("6to4", address.sixtofour))
    if address.teredo is not None:
        server, client = address.teredo
        carried += [("Teredo server", server), ("Teredo client", client)]
    low32 = ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
    if address in _NAT64:
        carried.append(("NAT64", low32))
    elif address in _IPV4_COMPATIBLE and int(address) > 1:
        carried.append(("IPv4-compatible", low32))
    return carried


def _classify_plain(address: IPAddress) -> str | None:
    """Why ``address`` itself (not what it embeds) is internal, or ``None``.

    Explicit ranges come before Python's ``is_private``/``is_global`` tables, which differ
    between Python versions (3.11 calls 192.0.0.9 and fec0::1 global).
    """
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
    if isinstance(address, ipaddress.IPv4Address):
        if address in _CGNAT:
            return "shared address space (CGNAT 100.64.0.0/10)"
        if address in _IETF_PROTOCOL:
            return "IETF protocol assignment (192.0.0.0/24)"
    elif address in _SITE_LOCAL:
        return "site-local (deprecated fec0::/10)"
    if address.is_private:
        return "private"
    if address.is_reserved:
        return "reserved"
    if not address.is_global:
        return "not globally routable"
    return None


def classify_address(address: IPAddress) -> str | None:
    """Why ``address`` is internal (``"loopback"``, ``"private"`` ...), or ``None`` if public.

    IPv4-mapped IPv6 addresses (``::ffff:10.0.0.1``) are judged as the IPv4 they carry;
    other IPv6 forms that embed an IPv4 (:func:`embedded_ipv4`) are refused when the
    embedded IPv4 is, e.g. ``"6to4 (embeds 10.0.0.1, private)"``.
    """
    address = _unmapped(address)
    if isinstance(address, ipaddress.IPv6Address):
        for mechanism, inner in embedded_ipv4(address):
            reason = _classify_plain(inner)
            if reason is not None:
                return f"{mechanism} (embeds {inner}, {reason})"
    return _classify_plain(address)


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
                f"cannot resolve host {host!r} ({exc}); check the host name in {field}", field
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
                f"(now: {', '.join(allowed) or 'none'}). Use a public address or an allowed one in "
                f"{field}, or ask the template's owner to allow the network (--allow-cidrs in "
                "the template's args; ALMANAC_HTTP_ALLOW_CIDRS on the operator for every "
                "template)",
                field,
                {"host": host, "address": str(address), "reason": reason, "allowed": allowed},
            )
    return VettedTarget(host, port, addresses[0])
