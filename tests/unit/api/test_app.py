"""The HTTP edge without a cluster: identity, request validation and error bodies."""

from __future__ import annotations

from types import SimpleNamespace

import pytest
from fastapi.testclient import TestClient

from almanac.api import BASE_PATH, ApiSettings, create_app, encode_identity


@pytest.fixture
def client() -> TestClient:
    """An app whose lifespan is not run: no clients, so only the edge answers. A stub
    context lets requests reach body validation, which runs before any route code."""
    app = create_app(ApiSettings())
    app.state.context = SimpleNamespace(service=None)
    return TestClient(app)


IDENTITY = {"x-rh-identity": encode_identity("101")}


def test_missing_identity_is_401_with_a_json_error(client: TestClient) -> None:
    reply = client.get(f"{BASE_PATH}/jobs")
    assert reply.status_code == 401
    assert reply.json()["errors"][0]["field"] == "x-rh-identity"


def test_malformed_identity_is_400(client: TestClient) -> None:
    reply = client.get(f"{BASE_PATH}/jobs", headers={"x-rh-identity": "%%%"})
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
def test_invalid_body_is_400_naming_the_field(
    client: TestClient, body: dict[str, object], field: str
) -> None:
    reply = client.post(f"{BASE_PATH}/jobs", json=body, headers=IDENTITY)
    assert reply.status_code == 400
    assert field in [e["field"] for e in reply.json()["errors"]]


def test_body_that_is_not_json_is_400(client: TestClient) -> None:
    reply = client.post(
        f"{BASE_PATH}/jobs",
        content=b"{not json",
        headers=IDENTITY | {"content-type": "application/json"},
    )
    assert reply.status_code == 400
    assert reply.json()["errors"]


@pytest.mark.parametrize("query", ["limit=0", "limit=501", "offset=-1", "status=sleeping"])
def test_bad_query_is_400(client: TestClient, query: str) -> None:
    reply = client.get(f"{BASE_PATH}/jobs?{query}", headers=IDENTITY)
    assert reply.status_code == 400
    assert reply.json()["errors"][0]["field"] == query.split("=", maxsplit=1)[0]


def test_unknown_route_is_a_json_404(client: TestClient) -> None:
    reply = client.get(f"{BASE_PATH}/nothing-here", headers=IDENTITY)
    assert reply.status_code == 404
    assert reply.json()["errors"][0]["code"] == "not_found"


def test_openapi_document_says_400_never_422(client: TestClient) -> None:
    document = client.get(f"{BASE_PATH}/openapi.json").json()
    create = document["paths"][f"{BASE_PATH}/jobs"]["post"]["responses"]
    assert "400" in create
    assert "422" not in create
    assert document["components"]["securitySchemes"]["identity"]["name"] == "x-rh-identity"
    assert client.get(f"{BASE_PATH}/docs").status_code == 200


def test_health_and_metrics_answer_without_identity(client: TestClient) -> None:
    assert client.get("/healthz").text == "ok"
    client.get(f"{BASE_PATH}/jobs")
    metrics = client.get("/metrics").text
    assert 'almanac_api_requests_total{method="GET",route="/jobs",status="401"}' in metrics
