"""``Location`` on what the facade created or started and ``Retry-After`` on every 503,
with a fake service behind the real routes and error handlers."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import datetime
from types import SimpleNamespace
from typing import Any, Final

import httpx
import psycopg
import pytest
from fastapi import HTTPException
from psycopg_pool import PoolTimeout

from almanac.api import BASE_PATH, ApiSettings, create_app, encode_identity
from almanac.api.errors import UPSTREAM_RETRY_AFTER, ApiError, UpstreamError
from almanac.api.identity import Identity
from almanac.api.schemas import Job
from almanac.history import HistoryUnavailableError
from tests.unit.api.client import in_process

IDENTITY: Final = {"x-rh-identity": encode_identity("101", username="ann")}
UID: Final = "550e8400-e29b-41d4-a716-446655440000"


def _job(body: dict[str, Any]) -> Job:
    return Job(
        id=UID,
        name=body["name"],
        schedule=body["schedule"],
        timezone=body.get("timezone", "UTC"),
        type=body["type"],
        payload=body.get("payload", {}),
        status="scheduled",
        last_run=None,
        resource_name="nightly-x7k2p",
    )


@dataclass
class FakeService:
    """The calls the routes make; ``failure`` is raised by every read instead."""

    failure: Exception | None = None
    asked: list[str] = field(default_factory=list)

    async def create_job(self, who: Identity, body: dict[str, Any], key: str | None = None) -> Job:
        return _job(body)

    async def get_job(self, who: Identity, job_id: str) -> dict[str, Any]:
        raise self.failure or AssertionError("no failure set")

    @property
    def asks(self) -> FakeService:
        """Run-now, retry and backfill live on ``JobService.asks``; one fake serves both."""
        return self

    async def run_now(
        self, who: Identity, job_id: str, key: str, payload: dict[str, Any] | None = None
    ) -> str:
        self.asked.append(f"run {job_id} {key}")
        return "nightly-x7k2p-20261201120000-m42"

    async def retry_run(self, who: Identity, run_id: str) -> tuple[str, str]:
        self.asked.append(f"retry {run_id}")
        return UID, f"{run_id}-r1-a2"

    async def backfill(
        self, who: Identity, job_id: str, start: datetime, end: datetime
    ) -> tuple[list[str], int]:
        return ["nightly-x7k2p-202601200000-b1"], 1


@pytest.fixture
def service() -> FakeService:
    return FakeService()


@pytest.fixture
async def client(service: FakeService) -> AsyncIterator[httpx.AsyncClient]:
    app = create_app(ApiSettings())
    app.state.context = SimpleNamespace(service=service)
    async with in_process(app) as client:
        yield client


async def test_created_job_is_201_with_location_of_the_job(client: httpx.AsyncClient) -> None:
    body = {"name": "Nightly", "schedule": "0 0 * * *", "type": "command"}

    reply = await client.post(f"{BASE_PATH}/jobs", json=body, headers=IDENTITY)

    assert reply.status_code == 201, reply.text
    assert reply.headers["location"] == f"{BASE_PATH}/jobs/{UID}"
    assert reply.json()["id"] == UID


async def test_run_now_is_202_with_location_of_its_run(
    client: httpx.AsyncClient, service: FakeService
) -> None:
    """The answer names the run; ``Location`` is where it shows once launched."""
    reply = await client.post(
        f"{BASE_PATH}/jobs/{UID}/run", headers=IDENTITY | {"Idempotency-Key": "k-1"}
    )

    assert reply.status_code == 202, reply.text
    run_id = "nightly-x7k2p-20261201120000-m42"
    assert reply.headers["location"] == f"{BASE_PATH}/executions/{run_id}"
    assert reply.json()["run_id"] == run_id
    assert service.asked == [f"run {UID} k-1"]


async def test_retry_is_202_with_location_of_the_new_attempts_run(
    client: httpx.AsyncClient,
) -> None:
    reply = await client.post(f"{BASE_PATH}/runs/nightly-x7k2p-1/retry", headers=IDENTITY)

    assert reply.status_code == 202, reply.text
    assert reply.headers["location"] == f"{BASE_PATH}/executions/nightly-x7k2p-1-r1-a2"
    assert reply.json()["retry_run_id"] == "nightly-x7k2p-1-r1-a2"


async def test_backfill_is_202_with_location_of_the_jobs_runs(client: httpx.AsyncClient) -> None:
    body = {"start": "2026-01-20T00:00:00Z", "end": "2026-01-20T23:59:59Z"}

    reply = await client.post(f"{BASE_PATH}/jobs/{UID}/backfill", json=body, headers=IDENTITY)

    assert reply.status_code == 202, reply.text
    assert reply.headers["location"] == f"{BASE_PATH}/jobs/{UID}/runs"


async def test_location_keeps_the_root_path_a_proxy_mounts_the_facade_under(
    service: FakeService,
) -> None:
    app = create_app(ApiSettings())
    app.state.context = SimpleNamespace(service=service)
    transport = httpx.ASGITransport(app=app, root_path="/gateway")
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
        reply = await client.post(
            f"/gateway{BASE_PATH}/jobs",
            json={"name": "Nightly", "schedule": "0 0 * * *", "type": "command"},
            headers=IDENTITY,
        )

    assert reply.status_code == 201, reply.text
    assert reply.headers["location"] == f"/gateway{BASE_PATH}/jobs/{UID}"


@pytest.mark.parametrize(
    ("failure", "retry_after"),
    [
        (UpstreamError("the Kubernetes API is unreachable", ""), str(UPSTREAM_RETRY_AFTER)),
        (UpstreamError("Kafka is electing a leader", "", retry_after=30), "30"),
        (HTTPException(503, "maintenance"), str(UPSTREAM_RETRY_AFTER)),
        (HTTPException(503, "maintenance", headers={"Retry-After": "120"}), "120"),
        (PoolTimeout("couldn't get a connection after 5.00 sec"), str(UPSTREAM_RETRY_AFTER)),
        (psycopg.OperationalError("connection refused"), str(UPSTREAM_RETRY_AFTER)),
        (HistoryUnavailableError("Postgres is down", ""), str(UPSTREAM_RETRY_AFTER)),
    ],
    ids=[
        "upstream",
        "upstream-own-delay",
        "http-exception",
        "http-exception-own-header",
        "history-pool-timeout",
        "history-refused",
        "history-unavailable",
    ],
)
async def test_every_503_carries_retry_after(
    client: httpx.AsyncClient, service: FakeService, failure: Exception, retry_after: str
) -> None:
    service.failure = failure

    reply = await client.get(f"{BASE_PATH}/jobs/{UID}", headers=IDENTITY)

    assert reply.status_code == 503
    assert reply.headers["retry-after"] == retry_after
    assert reply.json()["errors"][0]["message"]


async def test_other_errors_carry_no_retry_after(
    client: httpx.AsyncClient, service: FakeService
) -> None:
    service.failure = ApiError("boom", "")

    reply = await client.get(f"{BASE_PATH}/jobs/{UID}", headers=IDENTITY)

    assert reply.status_code == 500
    assert "retry-after" not in reply.headers


async def test_readiness_needs_the_kubernetes_api_only() -> None:
    """Job CRUD needs only Kubernetes: a Postgres outage leaves the facade ready."""

    async def answers() -> None:
        return None

    app = create_app(ApiSettings())
    app.state.context = SimpleNamespace(kube=SimpleNamespace(ping=answers), history=None)
    async with in_process(app) as client:
        reply = await client.get("/readyz")

    assert (reply.status_code, reply.text) == (200, "ready")


async def test_a_not_ready_readyz_carries_retry_after() -> None:
    async def unreachable() -> None:
        raise OSError("connection refused")

    app = create_app(ApiSettings())
    app.state.context = SimpleNamespace(kube=SimpleNamespace(ping=unreachable), history=None)
    async with in_process(app) as client:
        reply = await client.get("/readyz")

    assert reply.status_code == 503
    assert reply.headers["retry-after"] == str(UPSTREAM_RETRY_AFTER)


async def test_a_malformed_idempotency_key_on_create_is_a_400_naming_the_header(
    client: httpx.AsyncClient,
) -> None:
    body = {"name": "Nightly", "schedule": "0 0 * * *", "type": "command"}
    for bad in ("has space", "x" * 254):
        headers = IDENTITY | {"Idempotency-Key": bad}
        reply = await client.post(f"{BASE_PATH}/jobs", json=body, headers=headers)
        assert reply.status_code == 400, reply.text
        assert "Idempotency-Key" in reply.text
