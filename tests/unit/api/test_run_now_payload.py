"""Run-now with a payload for that run only: checked as a job's own payload (naming the
field, storing nothing when refused), carried by the RunRequest the operator launches, and
one Idempotency-Key asks for one payload."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any, Final

import httpx
import pytest

from almanac.api import BASE_PATH, encode_identity
from almanac.api.catalog import Catalog
from tests.unit.api.history_app import Facade, facade, job_object

UID: Final = "0b6c3a52-1111-4222-8333-944455556666"
IDENTITY: Final = {"x-rh-identity": encode_identity("000101", username="ann")}
COMMAND_JOB: Final = {"template": "command", "params": {"command": ["echo", "hi"]}}


@pytest.fixture
async def app() -> AsyncIterator[Facade]:
    async with facade() as made:
        obj = job_object("000101", UID, "nightly", spec=COMMAND_JOB)
        obj["metadata"]["annotations"]["almanac.dev/created-by"] = "ann"
        made.jobs.objects.append(obj)
        made.service.catalog = Catalog(made.jobs, "img")  # type: ignore[arg-type]
        yield made


async def _run(app: Facade, body: Any, key: str) -> httpx.Response:
    return await app.http.post(
        f"{BASE_PATH}/jobs/{UID}/run", json=body, headers=IDENTITY | {"Idempotency-Key": key}
    )


async def test_a_payload_for_one_run_is_carried_by_its_run_request(app: Facade) -> None:
    reply = await _run(app, {"payload": {"command": ["echo", "once"]}}, "k1")
    assert reply.status_code == 202, reply.text
    [request] = app.jobs.requests.values()
    assert request["spec"]["kind"] == "manual"
    assert request["spec"]["params"] == {"command": ["echo", "once"]}


async def test_a_payload_the_schema_refuses_is_a_400_naming_it_and_asks_nothing(
    app: Facade,
) -> None:
    reply = await _run(app, {"payload": {"command": 12}}, "k2")
    assert reply.status_code == 400
    assert reply.json()["errors"][0]["field"].startswith("payload.command")
    assert app.jobs.requests == {}


async def test_one_key_asks_for_one_payload(app: Facade) -> None:
    first = await _run(app, {"payload": {"command": ["echo", "a"]}}, "k3")
    again = await _run(app, {"payload": {"command": ["echo", "a"]}}, "k3")
    assert again.json()["run_id"] == first.json()["run_id"]
    other = await _run(app, {"payload": {"command": ["echo", "b"]}}, "k3")
    assert other.status_code == 409
    assert other.json()["errors"][0]["field"] == "Idempotency-Key"
    assert len(app.jobs.requests) == 1


async def test_without_a_body_the_job_runs_with_its_own_payload(app: Facade) -> None:
    reply = await _run(app, None, "k4")
    assert reply.status_code == 202, reply.text
    [request] = app.jobs.requests.values()
    assert request["spec"]["params"] == {}
