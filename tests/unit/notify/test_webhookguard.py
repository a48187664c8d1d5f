"""The webhook egress guard: a tenant-written URL sent from the operator's network position.
Every refusal is asserted to come before any connection (the recording peer sees nothing);
the resolver is a table, so no packet leaves."""

from __future__ import annotations

import httpx
import pytest

from almanac.core.errors import InvalidInputError
from almanac.notify.noticesettings import WebhookAllowList
from almanac.notify.webhookguard import WebhookGuard, WebhookRefused
from tests.unit.executor.fakes import FakeResolver, RecordingPeer

TABLE = {
    "hooks.example.com": ["93.184.216.34"],
    "internal.example.com": ["10.1.2.3"],
    "sneaky.example.com": ["93.184.216.34", "127.0.0.1"],
    "metadata.example.com": ["169.254.169.254"],
    "api.cluster.example": ["203.0.113.10"],
}
FIELD = "spec.notifications[0].webhook.url"


def guard(
    peer: RecordingPeer, allow: str = "", api: list[tuple[str, int]] | None = None
) -> WebhookGuard:
    return WebhookGuard(
        WebhookAllowList.parse(allow, "ALMANAC_NOTIFICATIONS_WEBHOOK_ALLOW"),
        api_servers=api or [],
        resolver=FakeResolver(TABLE),
        transport=httpx.MockTransport(peer.handle),
    )


@pytest.mark.parametrize(
    ("url", "why"),
    [
        ("http://127.0.0.1:9000/hook", "loopback"),
        ("http://10.0.0.5/admin", "private"),
        ("https://internal.example.com/x", "private"),
        ("https://sneaky.example.com/x", "loopback"),
        ("http://[::1]/x", "loopback"),
        ("http://[::ffff:10.0.0.1]/x", "private"),
        ("http://169.254.169.254/latest/meta-data/", "metadata"),
        ("https://metadata.example.com/", "metadata"),
        ("http://192.168.1.1/", "private"),
        ("http://100.64.0.1/", "CGNAT"),
    ],
    ids=[
        "loopback-literal",
        "private-literal",
        "name-resolving-private",
        "one-of-two-answers-loopback",
        "ipv6-loopback",
        "ipv4-mapped-private",
        "metadata-literal",
        "name-resolving-to-metadata",
        "rfc1918",
        "cgnat",
    ],
)
async def test_internal_destinations_are_refused_before_any_connection(url: str, why: str) -> None:
    peer = RecordingPeer()
    with pytest.raises(WebhookRefused) as caught:
        await guard(peer).post(url, b"{}", {}, field=FIELD, secret=None)
    assert why in caught.value.message
    assert caught.value.field == FIELD
    assert peer.requests == []


async def test_the_api_server_is_refused_even_when_its_network_is_allowed() -> None:
    peer = RecordingPeer()
    g = guard(peer, allow="203.0.113.0/24", api=[("api.cluster.example", 443)])
    with pytest.raises(WebhookRefused, match="the API server"):
        await g.post("https://203.0.113.10/", b"{}", {}, field=FIELD, secret=None)
    assert peer.requests == []


async def test_metadata_is_refused_even_when_link_local_is_allowed() -> None:
    peer = RecordingPeer()
    g = guard(peer, allow="169.254.0.0/16")
    with pytest.raises(WebhookRefused, match="metadata"):
        await g.post("http://169.254.169.254/", b"{}", {}, field=FIELD, secret=None)
    assert peer.requests == []


async def test_another_port_of_the_api_servers_address_is_judged_like_any_address() -> None:
    peer = RecordingPeer()
    g = guard(peer, allow="127.0.0.1/32", api=[("127.0.0.1", 6443)])
    reply = await g.post("http://127.0.0.1:8123/hook", b"{}", {}, field=FIELD, secret=None)
    assert reply.status == 200
    assert len(peer.requests) == 1


@pytest.mark.parametrize(
    ("allow", "url"),
    [
        ("10.0.0.0/8", "https://internal.example.com/x"),
        ("internal.example.com", "https://internal.example.com/x"),
        ("127.0.0.1/32", "http://127.0.0.1:9000/hook"),
    ],
    ids=["by-network", "by-host-name", "loopback-for-a-test-receiver"],
)
async def test_the_operators_allow_list_admits_an_internal_destination(
    allow: str, url: str
) -> None:
    peer = RecordingPeer()
    reply = await guard(peer, allow=allow).post(url, b"{}", {}, field=FIELD, secret=None)
    assert reply.status == 200
    assert len(peer.requests) == 1


async def test_a_public_destination_is_sent_to_the_vetted_address_with_its_host_header() -> None:
    peer = RecordingPeer()
    await guard(peer).post(
        "https://hooks.example.com/services/x",
        b'{"text": "hi"}',
        {"Content-Type": "application/json"},
        field=FIELD,
        secret=None,
    )
    [request] = peer.requests
    assert request.url.host == "93.184.216.34"
    assert request.headers["host"] == "hooks.example.com"
    assert request.content == b'{"text": "hi"}'


async def test_redirects_are_not_followed() -> None:
    peer = RecordingPeer(lambda r: httpx.Response(302, headers={"location": "http://10.0.0.1/"}))
    reply = await guard(peer).post(
        "https://hooks.example.com/x", b"{}", {}, field=FIELD, secret=None
    )
    assert reply.status == 302
    assert len(peer.requests) == 1


async def test_an_unresolvable_name_is_refused_naming_the_field() -> None:
    peer = RecordingPeer()
    with pytest.raises(WebhookRefused) as caught:
        await guard(peer).post("https://nowhere.invalid/", b"{}", {}, field=FIELD, secret=None)
    assert caught.value.field == FIELD
    assert peer.requests == []


def test_an_allow_list_entry_that_is_neither_host_nor_network_is_refused_naming_the_variable() -> (
    None
):
    with pytest.raises(InvalidInputError) as caught:
        WebhookAllowList.parse("10.0.0.0/8, not a host!", "ALMANAC_NOTIFICATIONS_WEBHOOK_ALLOW")
    assert caught.value.field == "ALMANAC_NOTIFICATIONS_WEBHOOK_ALLOW"
