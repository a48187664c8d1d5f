"""``GET /health``: each component with its state and latency; Kubernetes is required
(503 unhealthy, with ``Retry-After``), Postgres and Kafka are not (200 degraded)."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from types import SimpleNamespace
from typing import Any

import pytest

from almanac.api import BASE_PATH, ApiSettings, create_app
from tests.unit.api.client import in_process


class Connection:
    def __init__(self, down: bool) -> None:
        self.down = down

    async def execute(self, query: str) -> None:
        if self.down:
            # What psycopg says: the address and the user are in the text.
            raise OSError('connection to "10.244.0.1", port 36413 failed for user "almanac"')


def context(*, kube_up: bool = True, db_up: bool = True) -> Any:
    async def ping() -> None:
        if not kube_up:
            raise OSError("the API server is not answering")

    @contextlib.asynccontextmanager
    async def connection() -> AsyncIterator[Connection]:
        yield Connection(down=not db_up)

    return SimpleNamespace(
        kube=SimpleNamespace(ping=ping),
        history=SimpleNamespace(pool=SimpleNamespace(connection=connection)),
        settings=ApiSettings(),
    )


@pytest.mark.parametrize(
    ("kube_up", "db_up", "code", "status"),
    [
        pytest.param(True, True, 200, "healthy", id="all-up"),
        pytest.param(True, False, 200, "degraded", id="postgres-down"),
        pytest.param(False, True, 503, "unhealthy", id="kubernetes-down"),
    ],
)
async def test_health_names_each_component(
    kube_up: bool, db_up: bool, code: int, status: str
) -> None:
    app = create_app(ApiSettings())
    app.state.context = context(kube_up=kube_up, db_up=db_up)
    async with in_process(app) as client:
        reply = await client.get(f"{BASE_PATH}/health")

    assert reply.status_code == code
    body = reply.json()
    assert body["status"] == status
    components = body["components"]
    assert components["kubernetes"]["required"] is True
    assert components["database"]["status"] == ("up" if db_up else "down")
    assert components["kafka"]["status"] == "not_configured"
    if db_up:
        assert components["database"]["latency_ms"] >= 0
    else:
        # An unauthenticated answer names the kind of failure, never the address or user.
        assert components["database"]["message"] == "OSError"
        assert "10.244.0.1" not in reply.text
        assert "almanac" not in components["database"]["message"]
    assert ("retry-after" in reply.headers) is (code == 503)


async def test_with_history_off_the_database_is_not_configured_and_the_facade_healthy() -> None:
    app = create_app(ApiSettings(history_enabled=False))
    app.state.context = context()
    app.state.context.history = None
    async with in_process(app) as client:
        reply = await client.get(f"{BASE_PATH}/health")
    assert (reply.status_code, reply.json()["status"]) == (200, "healthy")
    assert reply.json()["components"]["database"]["status"] == "not_configured"
