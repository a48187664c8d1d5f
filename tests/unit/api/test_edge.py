"""The facade's edge before any route code: the gateway's secret, one identity header, the
request id on every answer and one access-log line per request."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from types import SimpleNamespace

import httpx
import pytest

from almanac.api import BASE_PATH, ApiSettings, create_app, encode_identity
from tests.unit.api.client import in_process

SECRET = "s3cret-s3cret-s3cret"
JOBS = f"{BASE_PATH}/jobs"
ORG_A = encode_identity("101", username="ann")
ORG_B = encode_identity("202", username="mallory")


async def _client(settings: ApiSettings) -> AsyncIterator[httpx.AsyncClient]:
    app = create_app(settings)
    app.state.context = SimpleNamespace(service=None)  # routes past the edge are not reached
    async with in_process(app) as client:
        yield client


@pytest.fixture
async def open_client() -> AsyncIterator[httpx.AsyncClient]:
    async for client in _client(ApiSettings()):
        yield client


@pytest.fixture
async def gated_client() -> AsyncIterator[httpx.AsyncClient]:
    async for client in _client(ApiSettings(gateway_secret=SECRET)):
        yield client


def _codes(reply: httpx.Response) -> list[tuple[str | None, str]]:
    return [(e["field"], e["code"]) for e in reply.json()["errors"]]


async def test_two_identity_headers_are_a_400_not_the_first_one_wins(
    open_client: httpx.AsyncClient,
) -> None:
    headers = [("x-rh-identity", ORG_A), ("x-rh-identity", ORG_B)]
    reply = await open_client.post(JOBS, json={}, headers=headers)
    assert reply.status_code == 400
    assert _codes(reply) == [("x-rh-identity", "bad_request")]
    assert "2 times" in reply.json()["errors"][0]["message"]


async def test_an_identity_header_over_8_kib_is_a_400(open_client: httpx.AsyncClient) -> None:
    reply = await open_client.get(JOBS, headers={"x-rh-identity": "A" * (8 * 1024 + 4)})
    assert reply.status_code == 400
    assert "8 KiB" in reply.json()["errors"][0]["message"]


@pytest.mark.parametrize(
    "sent", [None, "wrong-wrong-wrong-wrong", SECRET[:-1]], ids=["absent", "wrong", "prefix"]
)
async def test_without_the_gateways_secret_the_identity_is_not_believed(
    gated_client: httpx.AsyncClient, sent: str | None
) -> None:
    headers = {"x-rh-identity": ORG_A}
    if sent is not None:
        headers["x-almanac-gateway-secret"] = sent
    reply = await gated_client.get(JOBS, headers=headers)
    assert reply.status_code == 401
    assert _codes(reply) == [("x-almanac-gateway-secret", "unauthenticated")]


async def test_with_the_gateways_secret_the_request_reaches_the_route(
    gated_client: httpx.AsyncClient,
) -> None:
    """Control: the body check runs after the edge, so a 400 naming ``name`` shows the
    secret and the identity were accepted."""
    headers = {"x-rh-identity": ORG_A, "x-almanac-gateway-secret": SECRET}
    reply = await gated_client.post(JOBS, json={"type": "command"}, headers=headers)
    assert reply.status_code == 400
    assert ("name", "bad_request") in _codes(reply)


async def test_health_needs_no_gateway_secret(gated_client: httpx.AsyncClient) -> None:
    reply = await gated_client.get("/healthz")
    assert reply.status_code != 401


async def test_every_answer_carries_the_gateways_request_id(
    open_client: httpx.AsyncClient,
) -> None:
    reply = await open_client.get(JOBS, headers={"x-insights-request-id": "req-42.a_b"})
    assert reply.status_code == 401
    assert reply.headers["x-insights-request-id"] == "req-42.a_b"


@pytest.mark.parametrize("sent", [None, "two words", "x" * 129], ids=["none", "space", "long"])
async def test_a_missing_or_odd_request_id_is_replaced_by_a_fresh_one(
    open_client: httpx.AsyncClient, sent: str | None
) -> None:
    headers = {} if sent is None else {"x-insights-request-id": sent}
    first = await open_client.get(JOBS, headers=headers)
    second = await open_client.get(JOBS, headers=headers)
    ids = {first.headers["x-insights-request-id"], second.headers["x-insights-request-id"]}
    assert len(ids) == 2
    assert sent not in ids


async def test_each_request_is_logged_with_org_user_route_status_and_duration(
    open_client: httpx.AsyncClient, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="almanac.api.requests")
    await open_client.post(
        JOBS,
        json={"type": "command"},
        headers={"x-rh-identity": ORG_A, "x-insights-request-id": "r1"},
    )
    [line] = [r for r in caplog.records if r.name == "almanac.api.requests"]
    fields = {
        k: getattr(line, k) for k in ("request_id", "org_id", "user", "method", "route", "status")
    }
    assert fields == {
        "request_id": "r1",
        "org_id": "101",
        "user": "ann",
        "method": "POST",
        "route": "/jobs",
        "status": 400,
    }
    assert line.getMessage() == "request"
    assert getattr(line, "duration_ms") >= 0  # noqa: B009
    assert ORG_A not in str(vars(line))  # header values are never logged
