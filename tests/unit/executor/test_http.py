"""The ``http`` payload in-process over an in-memory transport: redirects are followed only
when asked, every hop is vetted again, and credentials never follow a hop to another
origin. No test sends a packet (names resolve through a fake resolver to public
addresses that are never connected to)."""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path

import httpx
import pytest

from almanac.core.tracing import parse_traceparent
from almanac.executor.payloads.http import execute
from tests.unit.executor.fakes import FakeResolver, RecordingPeer
from tests.unit.executor.support import make_context

TOKEN = "Bearer s3cret-token"
HOSTS = {
    "api.example.com": ["93.184.216.34"],
    "cdn.example.net": ["93.184.216.35"],
    "evil.example.org": ["93.184.216.36"],
}
#: Header names as the request sends them; ``X-Api-Key`` comes from a Secret.
CREDENTIALS = ["authorization", "cookie", "proxy-authorization", "x-api-key"]


@dataclass(frozen=True)
class Chain:
    """Where the run starts and the ``Location`` each hop answers with."""

    start: str
    locations: list[str]
    #: Which of CREDENTIALS each request carried, hop by hop.
    carried: list[list[str]]


SAME = CREDENTIALS
NONE: list[str] = []
CHAINS: dict[str, Chain] = {
    "same-origin-relative": Chain("https://api.example.com/a", ["/b"], [SAME, SAME]),
    "same-origin-absolute-default-port": Chain(
        "https://api.example.com/a", ["https://api.example.com:443/b"], [SAME, SAME]
    ),
    "same-origin-host-case": Chain(
        "https://api.example.com/a", ["https://API.Example.COM/b"], [SAME, SAME]
    ),
    "other-host": Chain("https://api.example.com/a", ["https://evil.example.org/"], [SAME, NONE]),
    "other-scheme": Chain("https://api.example.com/a", ["http://api.example.com/a"], [SAME, NONE]),
    "other-port": Chain(
        "https://api.example.com/a", ["https://api.example.com:8443/a"], [SAME, NONE]
    ),
    "back-to-the-first-origin-stays-stripped": Chain(
        "https://api.example.com/a",
        ["https://cdn.example.net/x", "https://api.example.com/c"],
        [SAME, NONE, NONE],
    ),
}


def redirecting(locations: list[str]) -> RecordingPeer:
    """A peer answering 302 to ``locations`` in turn, then 200."""

    def reply(request: httpx.Request) -> httpx.Response:
        hop = len(peer.requests) - 1
        if hop < len(locations):
            return httpx.Response(302, headers={"Location": locations[hop]})
        return httpx.Response(200, text="landed")

    peer = RecordingPeer(reply)
    return peer


def secret_dir(tmp_path: Path) -> None:
    (tmp_path / "secrets" / "api").mkdir(parents=True)
    (tmp_path / "secrets" / "api" / "key").write_text("k3y-from-secret")


@pytest.mark.parametrize("name", sorted(CHAINS))
async def test_credentials_follow_a_redirect_only_within_the_origin(
    tmp_path: Path, name: str
) -> None:
    chain = CHAINS[name]
    secret_dir(tmp_path)
    peer = redirecting(chain.locations)
    resolver = FakeResolver(HOSTS)
    ctx = make_context(tmp_path, "http", resolver, http_transport=httpx.MockTransport(peer.handle))
    params = {
        "url": chain.start,
        "followRedirects": 5,
        "headers": {
            "Authorization": TOKEN,
            "Cookie": "session=abc",
            "Proxy-Authorization": "Basic cHJveHk=",
            "X-Api-Key": {"secretKeyRef": {"name": "api", "key": "key"}},
            "X-Source": "almanac",
        },
    }
    result = await execute(params, ctx)
    assert result.ok, result.summary
    carried = [sorted(h for h in CREDENTIALS if h in request.headers) for request in peer.requests]
    assert carried == chain.carried
    assert all(request.headers["x-source"] == "almanac" for request in peer.requests)
    hosts = [httpx.URL(chain.start).host] + [
        httpx.URL(chain.start).join(location).host for location in chain.locations
    ]
    assert resolver.asked == hosts, "every hop is vetted again"
    dropped = result.details.get("droppedHeaders", [])
    expected = [] if chain.carried[-1] == SAME else ["Authorization", "Cookie"]
    assert [h for h in dropped if h in ("Authorization", "Cookie")] == expected


async def test_a_secret_header_of_any_name_is_dropped_and_reported(tmp_path: Path) -> None:
    secret_dir(tmp_path)
    peer = redirecting(["https://cdn.example.net/file"])
    ctx = make_context(
        tmp_path, "http", FakeResolver(HOSTS), http_transport=httpx.MockTransport(peer.handle)
    )
    params = {
        "url": "https://api.example.com/export",
        "followRedirects": 1,
        "headers": {"X-Api-Key": {"secretKeyRef": {"name": "api", "key": "key"}}, "X-Trace": "1"},
    }
    result = await execute(params, ctx)
    first, second = peer.requests
    assert first.headers["x-api-key"] == "k3y-from-secret"
    assert "x-api-key" not in second.headers
    assert second.headers["x-trace"] == "1"
    assert result.details["droppedHeaders"] == ["X-Api-Key"]


async def test_a_redirect_is_returned_as_is_when_not_asked_to_follow(tmp_path: Path) -> None:
    peer = redirecting(["https://evil.example.org/"])
    resolver = FakeResolver(HOSTS)
    ctx = make_context(tmp_path, "http", resolver, http_transport=httpx.MockTransport(peer.handle))
    result = await execute(
        {"url": "https://api.example.com/a", "headers": {"Authorization": TOKEN}}, ctx
    )
    assert not result.ok
    assert result.details["statusCode"] == 302
    assert "returned 302, expected 2xx" in result.summary
    assert len(peer.requests) == 1
    assert resolver.asked == ["api.example.com"]


TRACE = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"


@pytest.mark.parametrize(
    ("context", "headers", "sent"),
    [
        pytest.param(TRACE, {}, TRACE, id="the-run-context-is-sent-on"),
        pytest.param(None, {}, None, id="no-context-no-header"),
        pytest.param(
            TRACE,
            {"TraceParent": "00-" + "1" * 32 + "-" + "2" * 16 + "-00"},
            "00-" + "1" * 32 + "-" + "2" * 16 + "-00",
            id="one-the-params-set-is-kept",
        ),
    ],
)
async def test_the_request_carries_the_runs_traceparent(
    tmp_path: Path, context: str | None, headers: dict[str, str], sent: str | None
) -> None:
    peer = RecordingPeer()
    ctx = make_context(
        tmp_path, "http", FakeResolver(HOSTS), http_transport=httpx.MockTransport(peer.handle)
    )
    ctx = replace(ctx, run=replace(ctx.run, trace=parse_traceparent(context)))
    result = await execute({"url": "https://api.example.com/hook", "headers": headers}, ctx)
    assert result.ok, result.summary
    (request,) = peer.requests
    assert request.headers.get("traceparent") == sent
