"""``POST /events`` against the stack's Kafka: the record lands on the trigger topic with the
namespace header, and a facade whose Kafka is unreachable starts anyway and answers 503
in bounded time."""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from aiokafka import ConsumerRecord

from almanac.api import BASE_PATH, encode_identity
from tests.integration.api.conftest import FacadeProcess
from tests.integration.history.proxy import closed_port
from tests.support import Kubectl, KubectlError, eventually
from tests.support.kafka import reading

#: A bound on one refused event (the facade's own deadline is 8 s).
REFUSAL_SECONDS = 10.0


def _started(log: Path, **env: str) -> FacadeProcess:
    process = FacadeProcess(log, env=env)
    process.start()
    return process


@pytest.fixture(scope="module")
def topic() -> str:
    return f"t-triggers-{uuid.uuid4().hex[:8]}"


@pytest.fixture(scope="module")
def events_facade(
    crds: Kubectl, topic: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[FacadeProcess]:
    """A facade publishing to a topic of this module only (Kafka from the stack's env)."""
    process = _started(
        tmp_path_factory.mktemp("events") / "facade.log", ALMANAC_TRIGGER_TOPIC=topic
    )
    try:
        yield process
    finally:
        process.stop()


@pytest.fixture(scope="module")
def kafkaless_facade(
    crds: Kubectl, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[FacadeProcess]:
    """A facade whose bootstrap is a closed loopback port: it must still start (readyz)."""
    process = _started(
        tmp_path_factory.mktemp("events-down") / "facade.log",
        ALMANAC_KAFKA_BOOTSTRAP=f"127.0.0.1:{closed_port()}",
    )
    try:
        yield process
    finally:
        process.stop()


def _post(facade: FacadeProcess, org_id: str, body: dict[str, Any]) -> httpx.Response:
    headers = {"x-rh-identity": encode_identity(org_id)}
    return httpx.post(f"{facade.url}{BASE_PATH}/events", json=body, headers=headers, timeout=30)


async def _record_of(bootstrap: str, topic: str, event_id: str) -> ConsumerRecord:
    """The record of ``event_id`` on ``topic``, read from the beginning."""
    async with reading(bootstrap, topic) as consumer:
        found: list[ConsumerRecord] = []

        async def arrived() -> ConsumerRecord | None:
            batches = await consumer.getmany(timeout_ms=500)
            found.extend(r for records in batches.values() for r in records)
            return next((r for r in found if _header(r, "event-id") == event_id), None)

        record: ConsumerRecord = await eventually(
            arrived, timeout=30, interval=0.1, what=f"event {event_id} on {topic}"
        )
        return record


def _header(record: ConsumerRecord, name: str) -> str | None:
    return next((bytes(v).decode() for k, v in record.headers or () if k == name), None)


def _metric(facade: FacadeProcess, outcome: str) -> float:
    text = httpx.get(f"{facade.url}/metrics", timeout=10).text
    line = f'almanac_api_events_total{{outcome="{outcome}"}} '
    return float(next(x for x in text.splitlines() if x.startswith(line)).split()[-1])


async def test_posted_event_arrives_on_the_trigger_topic_for_the_callers_namespace(
    events_facade: FacadeProcess, topic: str, stack: dict[str, str], kubectl: Kubectl
) -> None:
    org_id = uuid.uuid4().hex[:10]
    before = datetime.now(UTC)
    event_id = f"e-{org_id}"
    body = {"id": event_id, "type": "ticket.opened", "data": {"ticket": "T-9"}, "key": "T-9"}

    reply = _post(events_facade, org_id, body)

    assert reply.status_code == 202, reply.text
    assert reply.json() == {"id": event_id, "topic": topic, "namespace": f"org-{org_id}"}
    record = await _record_of(stack["ALMANAC_KAFKA_BOOTSTRAP"], topic, event_id)
    assert record.key == b"T-9"
    assert _header(record, "almanac-namespace") == f"org-{org_id}"
    value = json.loads(record.value.decode("utf-8"))
    sent = datetime.fromisoformat(value.pop("time"))
    assert before - timedelta(seconds=5) <= sent <= datetime.now(UTC) + timedelta(seconds=5)
    assert value == {
        "id": event_id,
        "type": "ticket.opened",
        "data": {"ticket": "T-9"},
        "source": "almanac-api",
        "namespace": f"org-{org_id}",
        "orgId": org_id,
    }
    with pytest.raises(KubectlError):  # an event never creates the organisation's namespace
        kubectl.run("get", "namespace", f"org-{org_id}")
    assert _metric(events_facade, "published") >= 1


async def test_event_without_id_gets_a_uuid4_used_as_id_and_key(
    events_facade: FacadeProcess, topic: str, stack: dict[str, str]
) -> None:
    org_id = uuid.uuid4().hex[:10]

    reply = _post(events_facade, org_id, {"type": "workflow.completed"})

    assert reply.status_code == 202, reply.text
    generated = reply.json()["id"]
    assert uuid.UUID(generated).version == 4
    record = await _record_of(stack["ALMANAC_KAFKA_BOOTSTRAP"], topic, generated)
    value = json.loads(record.value.decode("utf-8"))
    assert (value["id"], value["type"], value["data"]) == (generated, "workflow.completed", {})
    assert record.key == generated.encode()


def test_unreachable_kafka_is_503_in_bounded_time_and_other_routes_still_work(
    kafkaless_facade: FacadeProcess,
) -> None:
    org_id = uuid.uuid4().hex[:10]

    for attempt in range(2):  # the second event tries to connect again, as quickly
        started = time.monotonic()
        reply = _post(kafkaless_facade, org_id, {"id": "e-1", "type": "t"})
        elapsed = time.monotonic() - started

        assert reply.status_code == 503, (attempt, reply.text)
        assert elapsed < REFUSAL_SECONDS, (attempt, elapsed)
        [error] = reply.json()["errors"]
        assert "'e-1' was not published" in error["message"]
        assert "retry with the same id" in error["message"]
    jobs = httpx.get(
        f"{kafkaless_facade.url}{BASE_PATH}/jobs",
        headers={"x-rh-identity": encode_identity(org_id)},
        timeout=30,
    )
    assert jobs.status_code == 200, jobs.text
    assert _metric(kafkaless_facade, "failed") == 2
