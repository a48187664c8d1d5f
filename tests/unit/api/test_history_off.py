"""History turned off (the chart's trial mode): job CRUD goes on, and every history read
is a 503 naming ``history`` and saying why and how to turn it on, not "retry later"."""

from __future__ import annotations

from collections.abc import AsyncIterator
from types import SimpleNamespace

import httpx
import pytest

from almanac.api import BASE_PATH, ApiSettings, create_app, encode_identity
from almanac.api.context import HISTORY_OFF
from almanac.api.service import JobService
from almanac.history.deferred import DeferredRunStore
from tests.unit.api.client import in_process
from tests.unit.api.history_app import Jobs, job_object

UID = "0b6c3a52-1111-4222-8333-944455556666"
IDENTITY = {"x-rh-identity": encode_identity("000101", username="ann")}


@pytest.fixture
async def client() -> AsyncIterator[httpx.AsyncClient]:
    jobs = Jobs([job_object("000101", UID, "nightly")])
    store = DeferredRunStore(HISTORY_OFF, permanent=True)
    settings = ApiSettings(history_enabled=False)
    service = JobService(settings, jobs, store, catalog=None)  # type: ignore[arg-type]
    app = create_app(settings)
    app.state.context = SimpleNamespace(service=service)
    async with in_process(app) as made:
        yield made


@pytest.mark.parametrize(
    "path",
    [f"/jobs/{UID}/runs", f"/jobs/{UID}/stats", "/executions/r1", "/dead-letters"],
)
async def test_history_reads_say_history_is_off_and_how_to_turn_it_on(
    client: httpx.AsyncClient, path: str
) -> None:
    reply = await client.get(f"{BASE_PATH}{path}", headers=IDENTITY)
    assert reply.status_code == 503, reply.text
    [error] = reply.json()["errors"]
    assert error["field"] == "history"
    assert "postgres.dsnSecret" in error["message"]


async def test_job_reads_go_on_without_history(client: httpx.AsyncClient) -> None:
    reply = await client.get(f"{BASE_PATH}/jobs/{UID}", headers=IDENTITY)
    assert reply.status_code == 200, reply.text
