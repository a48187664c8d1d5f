"""The HTTP edge without a cluster: identity, request validation and error bodies."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from types import SimpleNamespace

import httpx
import pytest

from almanac.api import BASE_PATH, ApiSettings, create_app, encode_identity
from tests.unit.api.client import in_process


@pytest.fixture
async def client() -> AsyncIterator[httpx.AsyncClient]:
    """An app whose lifespan is not run: no clients, so only the edge answers. A stub
    context lets requests reach body validation, which runs before any route code."""
    app = create_app(ApiSettings())
    app.state.context = SimpleNamespace(service=None)
    async with in_process(app) as client:
        yield client


IDENTITY = {"x-rh-identity": encode_identity("101")}


async def test_missing_identity_is_401_with_a_json_error(client: httpx.AsyncClient) -> None:
    reply = await client.get(f"{BASE_PATH}/jobs")
    assert reply.status_code == 401
    assert reply.json()["errors"][0]["field"] == "x-rh-identity"


async def test_malformed_identity_is_400(client: httpx.AsyncClient) -> None:
    reply = await client.get(f"{BASE_PATH}/jobs", headers={"x-rh-identity": "%%%"})
    assert reply.status_code == 400
    assert reply.json()["errors"][0]["field"] == "x-rh-identity"


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"schedule": "* * * * *", "type": "command"}, "name"),
        ({"name": "x", "schedule": "* * * * *", "type": "command", "colour": 1}, "colour"),
        ({"name": "x", "schedule": 5, "type": "command"}, "schedule"),
        ({"name": " ", "schedule": "* * * * *", "type": "command"}, "name"),
        ({"name": "x", "schedule": "* * * * *", "type": "command", "payload": []}, "payload"),
    ],
    ids=["missing-name", "unknown-key", "schedule-not-text", "blank-name", "payload-not-object"],
)
async def test_invalid_body_is_400_naming_the_field(
    client: httpx.AsyncClient, body: dict[str, object], field: str
) -> None:
    reply = await client.post(f"{BASE_PATH}/jobs", json=body, headers=IDENTITY)
    assert reply.status_code == 400
    assert field in [e["field"] for e in reply.json()["errors"]]


async def test_body_that_is_not_json_is_400(client: httpx.AsyncClient) -> None:
    reply = await client.post(
        f"{BASE_PATH}/jobs",
        content=b"{not json",
        headers=IDENTITY | {"content-type": "application/json"},
    )
    assert reply.status_code == 400
    assert reply.json()["errors"]


@pytest.mark.parametrize("field", ["name", "schedule", "type", "payload", "timezone", "status"])
async def test_patch_with_a_null_field_is_400_saying_leave_it_out(
    client: httpx.AsyncClient, field: str
) -> None:
    body = {"name": "renamed", field: None}
    reply = await client.patch(f"{BASE_PATH}/jobs/some-id", json=body, headers=IDENTITY)
    assert reply.status_code == 400
    [error] = reply.json()["errors"]
    assert error["field"] == field
    assert "leave the field out" in error["message"]
    document = (await client.get(f"{BASE_PATH}/openapi.json")).json()
    patch = document["components"]["schemas"]["JobPatch"]["properties"][field]
    assert "null" not in json.dumps(patch), "the document says the field is not nullable"


@pytest.mark.parametrize("query", ["limit=0", "limit=501", "offset=-1", "status=sleeping"])
async def test_bad_query_is_400(client: httpx.AsyncClient, query: str) -> None:
    reply = await client.get(f"{BASE_PATH}/jobs?{query}", headers=IDENTITY)
    assert reply.status_code == 400
    assert reply.json()["errors"][0]["field"] == query.split("=", maxsplit=1)[0]


async def test_unknown_route_is_a_json_404(client: httpx.AsyncClient) -> None:
    reply = await client.get(f"{BASE_PATH}/nothing-here", headers=IDENTITY)
    assert reply.status_code == 404
    assert reply.json()["errors"][0]["code"] == "not_found"


async def test_openapi_document_says_400_never_422(client: httpx.AsyncClient) -> None:
    document = (await client.get(f"{BASE_PATH}/openapi.json")).json()
    create = document["paths"][f"{BASE_PATH}/jobs"]["post"]["responses"]
    assert "400" in create
    assert "422" not in create
    assert document["components"]["securitySchemes"]["identity"]["name"] == "x-rh-identity"
    assert (await client.get(f"{BASE_PATH}/docs")).status_code == 200


async def test_health_and_metrics_answer_without_identity(client: httpx.AsyncClient) -> None:
    assert (await client.get("/healthz")).text == "ok"
    await client.get(f"{BASE_PATH}/jobs")
    metrics = (await client.get("/metrics")).text
    assert 'almanac_api_requests_total{method="GET",route="/jobs",status="401"}' in metrics
