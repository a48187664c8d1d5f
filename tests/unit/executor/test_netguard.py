"""The egress guard refuses internal addresses before any connection, and pins the rest.

No test here sends a packet: names resolve through a fake resolver and HTTP goes to an
in-memory transport that records what would have been sent.
"""

from __future__ import annotations

import ipaddress

import httpx
import pytest

from almanac.executor.errors import PayloadFailedError, RefusedTargetError
from almanac.executor.guardedhttp import GuardedHttp
from almanac.executor.netguard import classify_address, embedded_ipv4, vet_host
from tests.unit.executor.fakes import FakeResolver, RecordingPeer

PUBLIC = "93.184.215.14"
#: Teredo addresses: server 65.54.227.120 or 169.254.169.254; client (stored inverted)
#: 10.0.0.1 or 93.184.216.34.
TEREDO_CLIENT_PRIVATE = "2001:0:4136:e378:8000:ffff:f5ff:fffe"
TEREDO_SERVER_METADATA = "2001:0:a9fe:a9fe:8000:ffff:a247:27dd"
TEREDO_PUBLIC = "2001:0:4136:e378:8000:ffff:a247:27dd"
METADATA_REASON = "link-local (cloud metadata service)"
IETF = "IETF protocol assignment (192.0.0.0/24)"
SITE_LOCAL = "site-local (deprecated fec0::/10)"


@pytest.mark.parametrize(
    ("address", "reason"),
    [
        pytest.param("127.0.0.1", "loopback", id="loopback-v4"),
        pytest.param("::1", "loopback", id="loopback-v6"),
        pytest.param("169.254.169.254", "link-local (cloud metadata service)", id="metadata"),
        pytest.param("169.254.10.1", "link-local", id="link-local-v4"),
        pytest.param("fe80::1", "link-local", id="link-local-v6"),
        pytest.param("10.1.2.3", "private", id="rfc1918-10"),
        pytest.param("172.16.0.1", "private", id="rfc1918-172"),
        pytest.param("192.168.1.1", "private", id="rfc1918-192"),
        pytest.param("100.64.0.1", "shared address space (CGNAT 100.64.0.0/10)", id="cgnat"),
        pytest.param("fd12:3456::1", "private", id="ula"),
        pytest.param("0.0.0.0", "unspecified", id="unspecified-v4"),
        pytest.param("::", "unspecified", id="unspecified-v6"),
        pytest.param("224.0.0.1", "multicast", id="multicast-v4"),
        pytest.param("ff02::1", "multicast", id="multicast-v6"),
        pytest.param("240.0.0.1", "private", id="reserved-class-e"),
        pytest.param("::ffff:10.0.0.1", "private", id="v4-mapped-private"),
        pytest.param("192.0.2.1", "private", id="documentation"),
        pytest.param(PUBLIC, None, id="public-v4"),
        pytest.param("93.184.216.34", None, id="public-v4-example-com"),
        pytest.param("2606:4700::1111", None, id="public-v6"),
        # IETF protocol assignments: Python 3.11 calls most of 192.0.0.0/24 global.
        pytest.param("192.0.0.9", IETF, id="ietf-pcp-anycast"),
        pytest.param("192.0.0.100", IETF, id="ietf-unassigned"),
        pytest.param("192.0.0.1", IETF, id="ietf-dslite"),
        pytest.param("::ffff:192.0.0.9", IETF, id="v4-mapped-ietf"),
        # Deprecated site-local: Python calls it global.
        pytest.param("fec0::1", SITE_LOCAL, id="site-local"),
        pytest.param("feff:ffff::1", SITE_LOCAL, id="site-local-top"),
        # 6to4: judged by the IPv4 in bits 16-48.
        pytest.param("2002:a00:1::", "6to4 (embeds 10.0.0.1, private)", id="6to4-private"),
        pytest.param("2002:7f00:1::1", "6to4 (embeds 127.0.0.1, loopback)", id="6to4-loopback"),
        pytest.param(
            "2002:a9fe:a9fe::", f"6to4 (embeds 169.254.169.254, {METADATA_REASON})", id="6to4-meta"
        ),
        pytest.param("2002:c000:9::", f"6to4 (embeds 192.0.0.9, {IETF})", id="6to4-ietf"),
        pytest.param("2002:5db8:d822::1", None, id="6to4-public"),
        # Teredo: server and client IPv4 both judged; Python keeps 2001::/32 non-global.
        pytest.param(
            TEREDO_CLIENT_PRIVATE, "Teredo client (embeds 10.0.0.1, private)", id="teredo-client"
        ),
        pytest.param(
            TEREDO_SERVER_METADATA,
            f"Teredo server (embeds 169.254.169.254, {METADATA_REASON})",
            id="teredo-server",
        ),
        pytest.param(TEREDO_PUBLIC, "private", id="teredo-public-still-not-global"),
        # NAT64 well-known prefix: the IPv4 in the last 32 bits.
        pytest.param("64:ff9b::a00:1", "NAT64 (embeds 10.0.0.1, private)", id="nat64-private"),
        pytest.param("64:ff9b::7f00:1", "NAT64 (embeds 127.0.0.1, loopback)", id="nat64-loopback"),
        pytest.param(
            "64:ff9b::a9fe:a9fe",
            f"NAT64 (embeds 169.254.169.254, {METADATA_REASON})",
            id="nat64-md",
        ),
        pytest.param("64:ff9b::5db8:d822", "reserved", id="nat64-public-stays-reserved"),
        # IPv4-compatible (deprecated ::a.b.c.d); :: and ::1 keep their own meaning.
        pytest.param("::10.0.0.1", "IPv4-compatible (embeds 10.0.0.1, private)", id="v4-compat"),
        pytest.param(
            "::169.254.169.254",
            f"IPv4-compatible (embeds 169.254.169.254, {METADATA_REASON})",
            id="v4-compat-metadata",
        ),
        pytest.param("::5db8:d822", "reserved", id="v4-compat-public-stays-reserved"),
    ],
)
def test_classify_address(address: str, reason: str | None) -> None:
    assert classify_address(ipaddress.ip_address(address)) == reason


@pytest.mark.parametrize(
    ("address", "carried"),
    [
        pytest.param("::ffff:10.0.0.1", [("IPv4-mapped", "10.0.0.1")], id="mapped"),
        pytest.param("2002:a00:1::", [("6to4", "10.0.0.1")], id="6to4"),
        pytest.param(
            TEREDO_CLIENT_PRIVATE,
            [("Teredo server", "65.54.227.120"), ("Teredo client", "10.0.0.1")],
            id="teredo",
        ),
        pytest.param("64:ff9b::a00:1", [("NAT64", "10.0.0.1")], id="nat64"),
        pytest.param("::10.0.0.1", [("IPv4-compatible", "10.0.0.1")], id="compatible"),
        pytest.param("::1", [], id="loopback-is-not-compatible"),
        pytest.param("::", [], id="unspecified-is-not-compatible"),
        pytest.param("2606:4700::1111", [], id="plain-v6"),
    ],
)
def test_embedded_ipv4_names_the_mechanism(address: str, carried: list[tuple[str, str]]) -> None:
    found = embedded_ipv4(ipaddress.IPv6Address(address))
    assert [(mechanism, str(inner)) for mechanism, inner in found] == carried


#: name -> (address the name resolves to, allowed CIDRs, refused reason or None if allowed)
VETTED: dict[str, tuple[str, tuple[str, ...], str | None]] = {
    "ietf-assignment": ("192.0.0.10", (), IETF),
    "site-local": ("fec0::53", (), SITE_LOCAL),
    "6to4-private": ("2002:a00:1::", (), "6to4 (embeds 10.0.0.1, private)"),
    "teredo-client-private": (
        TEREDO_CLIENT_PRIVATE,
        (),
        "Teredo client (embeds 10.0.0.1, private)",
    ),
    "nat64-metadata": (
        "64:ff9b::a9fe:a9fe",
        (),
        f"NAT64 (embeds 169.254.169.254, {METADATA_REASON})",
    ),
    "v4-mapped-metadata": ("::ffff:169.254.169.254", (), METADATA_REASON),
    "v4-compatible-private": ("::10.0.0.1", (), "IPv4-compatible (embeds 10.0.0.1, private)"),
    "allowing-the-embedded-ipv4-does-not-admit-6to4": (
        "2002:a00:1::",
        ("10.0.0.0/8",),
        "6to4 (embeds 10.0.0.1, private)",
    ),
    "allowing-the-embedded-ipv4-does-not-admit-nat64": (
        "64:ff9b::a00:1",
        ("10.0.0.0/8",),
        "NAT64 (embeds 10.0.0.1, private)",
    ),
    "public-is-allowed": ("93.184.216.34", (), None),
    "public-6to4-is-allowed": ("2002:5db8:d822::1", (), None),
    "allow-listed-pod-network": ("10.244.0.7", ("10.244.0.0/24",), None),
    "allow-listed-ietf-assignment": ("192.0.0.10", ("192.0.0.0/24",), None),
    "allow-listed-6to4-prefix": ("2002:a00:1::", ("2002::/16",), None),
    "allow-listed-site-local": ("fec0::53", ("fec0::/10",), None),
}


@pytest.mark.parametrize("name", sorted(VETTED))
async def test_vet_host_judges_what_the_name_resolves_to(name: str) -> None:
    address, allowed, reason = VETTED[name]
    resolver = FakeResolver({"target.example": [address]})
    allow = tuple(ipaddress.ip_network(cidr) for cidr in allowed)
    if reason is None:
        vetted = await vet_host("target.example", 443, resolver=resolver, allow=allow, field="f")
        assert vetted.address == ipaddress.ip_address(address)
        return
    with pytest.raises(RefusedTargetError) as caught:
        await vet_host("target.example", 443, resolver=resolver, allow=allow, field="params.host")
    assert caught.value.field == "params.host"
    assert caught.value.details["reason"] == reason
    assert "Use a public address or an allowed one in params.host" in caught.value.message


async def test_name_resolving_to_private_address_is_refused() -> None:
    resolver = FakeResolver({"intranet.example": ["10.0.0.5"]})
    with pytest.raises(RefusedTargetError) as caught:
        await vet_host("intranet.example", 80, resolver=resolver, allow=(), field="params.url")
    assert caught.value.field == "params.url"
    assert "10.0.0.5" in caught.value.message
    assert "(now: none)" in caught.value.message
    assert "--allow-cidrs in the template's args" in caught.value.message
    assert caught.value.details == {
        "host": "intranet.example",
        "address": "10.0.0.5",
        "reason": "private",
        "allowed": [],
    }


async def test_an_address_outside_the_allowed_networks_is_refused_listing_them() -> None:
    resolver = FakeResolver({"db.example": ["10.245.0.9"]})
    allow = (ipaddress.ip_network("10.244.0.0/24"),)
    with pytest.raises(RefusedTargetError) as caught:
        await vet_host("db.example", 5432, resolver=resolver, allow=allow, field="f")
    assert "(now: 10.244.0.0/24)" in caught.value.message


async def test_ipv4_mapped_ipv6_addresses_are_judged_and_allowed_as_ipv4() -> None:
    mapped_v4_range = (ipaddress.ip_network("::ffff:0:0/96"),)
    with pytest.raises(RefusedTargetError):
        await vet_host(
            "::ffff:169.254.169.254",
            80,
            resolver=FakeResolver({}),
            allow=mapped_v4_range,
            field="f",
        )
    resolver = FakeResolver({"svc.example": ["::ffff:10.244.0.7"]})
    allow = (ipaddress.ip_network("10.244.0.0/24"),)
    vetted = await vet_host("svc.example", 80, resolver=resolver, allow=allow, field="f")
    assert vetted.address == ipaddress.ip_address("10.244.0.7")


async def test_any_internal_address_among_several_refuses_the_name() -> None:
    resolver = FakeResolver({"mixed.example": [PUBLIC, "127.0.0.1"]})
    with pytest.raises(RefusedTargetError):
        await vet_host("mixed.example", 80, resolver=resolver, allow=(), field="params.url")


async def test_allowed_cidr_admits_an_internal_address() -> None:
    resolver = FakeResolver({"svc.example": ["10.244.0.7"]})
    allow = (ipaddress.ip_network("10.244.0.0/24"),)
    vetted = await vet_host("svc.example", 80, resolver=resolver, allow=allow, field="f")
    assert vetted.address == ipaddress.ip_address("10.244.0.7")


async def test_ip_literal_is_not_resolved() -> None:
    resolver = FakeResolver({})
    with pytest.raises(RefusedTargetError):
        await vet_host("169.254.169.254", 80, resolver=resolver, allow=(), field="f")
    assert resolver.asked == []


async def test_unresolvable_name_fails_naming_the_field() -> None:
    with pytest.raises(PayloadFailedError) as caught:
        await vet_host("nowhere.invalid", 80, resolver=FakeResolver({}), allow=(), field="f")
    assert "cannot resolve host 'nowhere.invalid'" in caught.value.message


async def test_refused_url_sends_no_request() -> None:
    peer = RecordingPeer()
    resolver = FakeResolver({"metadata.internal": ["169.254.169.254"]})
    async with peer.client() as client:
        guarded = GuardedHttp(client, resolver, ())
        with pytest.raises(RefusedTargetError):
            await guarded.request(
                "GET",
                "http://metadata.internal/latest/",
                field="params.url",
                timeout=1,
                body_limit=10,
            )
    assert resolver.asked == ["metadata.internal"]
    assert peer.requests == []


async def test_request_is_pinned_to_the_vetted_address_with_original_host_and_sni() -> None:
    peer = RecordingPeer()
    resolver = FakeResolver({"api.example.com": [PUBLIC]})
    async with peer.client() as client:
        reply = await GuardedHttp(client, resolver, ()).request(
            "GET",
            "https://api.example.com:8443/v1?x=1",
            field="params.url",
            timeout=1,
            body_limit=10,
        )
    (sent,) = peer.requests
    assert sent.url.host == PUBLIC
    assert sent.url.port == 8443
    assert sent.url.raw_path == b"/v1?x=1"
    assert sent.headers["Host"] == "api.example.com:8443"
    assert sent.extensions["sni_hostname"] == "api.example.com"
    assert (reply.status_code, reply.address, reply.body) == (200, PUBLIC, b"ok")


async def test_redirect_to_an_internal_address_is_refused_before_following() -> None:
    def reply(request: httpx.Request) -> httpx.Response:
        return httpx.Response(302, headers={"Location": "http://intranet.example/admin"})

    peer = RecordingPeer(reply)
    resolver = FakeResolver({"public.example": [PUBLIC], "intranet.example": ["192.168.0.10"]})
    async with peer.client() as client:
        with pytest.raises(RefusedTargetError):
            await GuardedHttp(client, resolver, ()).request(
                "GET",
                "http://public.example/",
                field="params.url",
                timeout=1,
                body_limit=10,
                max_redirects=3,
            )
    assert len(peer.requests) == 1
    assert resolver.asked == ["public.example", "intranet.example"]


async def test_redirects_are_not_followed_by_default() -> None:
    peer = RecordingPeer(lambda r: httpx.Response(301, headers={"Location": "/elsewhere"}))
    resolver = FakeResolver({"public.example": [PUBLIC]})
    async with peer.client() as client:
        reply = await GuardedHttp(client, resolver, ()).request(
            "GET", "http://public.example/", field="params.url", timeout=1, body_limit=10
        )
    assert reply.status_code == 301
    assert len(peer.requests) == 1
