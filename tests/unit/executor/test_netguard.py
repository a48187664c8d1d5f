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
from almanac.executor.netguard import classify_address, vet_host
from tests.unit.executor.fakes import FakeResolver, RecordingPeer

PUBLIC = "93.184.215.14"


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
        pytest.param("2606:4700::1111", None, id="public-v6"),
    ],
)
def test_classify_address(address: str, reason: str | None) -> None:
    assert classify_address(ipaddress.ip_address(address)) == reason


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
