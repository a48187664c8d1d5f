"""Kafka tenancy on the real stack: a tenant cannot publish onto Almanac's own topics (the
REST trigger topic, whose ``almanac-namespace`` header routes events to an organisation's
jobs, or the notification topic), nor read the events topic that carries every
organisation's run results; and every record the outbox relay puts there names its
namespace in that header.

Admission goes through the webhook served from this process (test_webhook's ``k``, the
same ``check_spec`` the facade runs); runs go through the real executor process
(tests/integration/executor's ``run_executor``) against the stack's Kafka. No operator.
"""

from __future__ import annotations

import json
import uuid
from typing import Any

from aiokafka import ConsumerRecord

from almanac.core.kafkanames import NAMESPACE_HEADER, KafkaNames
from almanac.history import PostgresRunStore
from almanac.notify import KafkaPublisher, NotifySettings, OutboxRelay, messages_for_run
from tests.integration.admission import apply, refusal
from tests.integration.executor.conftest import (  # noqa: F401 (fixtures)
    RunExecutor,
    run_executor,
    secrets_dir,
)
from tests.integration.history.schemas import fresh_schema
from tests.support import Kubectl, eventually
from tests.support.kafka import reading
from tests.unit.history.builders import finished, record

TRIGGER_TOPIC = KafkaNames().trigger_topic


def message_job(name: str, topic: str, headers: dict[str, str]) -> dict[str, Any]:
    params = {"topic": topic, "value": {"type": "ticket.resolved"}, "headers": headers}
    return {
        "apiVersion": "almanac.dev/v1alpha1",
        "kind": "ScheduledJob",
        "metadata": {"name": name},
        "spec": {"template": "message", "params": params, "schedule": {"cron": "0 * * * *"}},
    }


def triggered_job(name: str, topic: str) -> dict[str, Any]:
    return {
        "apiVersion": "almanac.dev/v1alpha1",
        "kind": "ScheduledJob",
        "metadata": {"name": name},
        "spec": {"template": "http", "triggers": [{"kafka": {"topic": topic}}]},
    }


async def whole_topic(bootstrap: str, topic: str) -> list[ConsumerRecord[bytes, bytes]]:
    """Every record on ``topic`` up to its end (none if it does not exist)."""
    found: list[ConsumerRecord[bytes, bytes]] = []
    async with reading(bootstrap, topic) as consumer:
        if topic not in await consumer.topics():
            return found

        async def read_to_end() -> bool:
            for records in (await consumer.getmany(timeout_ms=500)).values():
                found.extend(records)
            partitions = list(consumer.assignment())
            ends = await consumer.end_offsets(partitions) if partitions else {}
            return bool(partitions) and all(
                [await consumer.position(tp) >= ends[tp] for tp in partitions]
            )

        await eventually(read_to_end, timeout=30, interval=0, what=f"the end of {topic}")
    return found


async def test_admission_refuses_almanacs_kafka_names_and_accepts_a_tenants_own(
    guarded: Kubectl,
) -> None:
    k = guarded
    other_org = f"org-{uuid.uuid4().hex[:6]}"
    forged = message_job("forge", TRIGGER_TOPIC, {NAMESPACE_HEADER: other_org})
    error = await refusal(k, forged)
    assert 'The ScheduledJob "forge" is invalid' in error
    assert "spec.params.topic: topic 'almanac.triggers' is reserved for Almanac" in error
    assert "publish to a topic of your own" in error
    assert "spec.params.headers.almanac-namespace: header 'almanac-namespace' is reserved" in error

    error = await refusal(k, triggered_job("spy", "almanac.events"))
    assert "spec.triggers[0].kafka.topic: topic 'almanac.events' is reserved for Almanac" in error

    await apply(k, message_job("report", "reports.daily", {"trace-id": "abc"}), dry_run=True)
    await apply(k, triggered_job("on-rest-events", TRIGGER_TOPIC), dry_run=True)


async def test_executor_refuses_to_forge_a_trigger_and_publishes_nothing(
    run_executor: RunExecutor,  # noqa: F811 (fixture)
    stack: dict[str, str],
) -> None:
    bootstrap = stack["ALMANAC_KAFKA_BOOTSTRAP"]
    marker = f"forged-{uuid.uuid4().hex}"
    params = {
        "topic": TRIGGER_TOPIC,
        "value": {"id": marker, "type": "ticket.resolved"},
        "headers": {NAMESPACE_HEADER: f"org-{uuid.uuid4().hex[:6]}"},
    }
    run = run_executor("message", params, ALMANAC_KAFKA_BOOTSTRAP=bootstrap)
    assert run.code == 1
    assert (run.details["error"], run.details["field"]) == ("payload_failed", "params.topic")
    assert "topic 'almanac.triggers' is reserved for Almanac" in run.result["summary"]
    # A send is acknowledged by every in-sync replica before the executor exits, so a
    # forged record would be on the topic by now.
    assert not [
        r for r in await whole_topic(bootstrap, TRIGGER_TOPIC) if marker.encode() in r.value
    ]


async def test_executor_still_publishes_to_a_tenants_own_topic(
    run_executor: RunExecutor,  # noqa: F811 (fixture)
    stack: dict[str, str],
) -> None:
    bootstrap = stack["ALMANAC_KAFKA_BOOTSTRAP"]
    topic = f"t-tenancy-{uuid.uuid4().hex[:8]}"
    params = {"topic": topic, "value": {"report": "daily"}, "headers": {"trace-id": "abc"}}
    run = run_executor("message", params, ALMANAC_KAFKA_BOOTSTRAP=bootstrap)
    assert run.code == 0, run.result
    (sent,) = await whole_topic(bootstrap, topic)
    assert json.loads(sent.value) == {"report": "daily"}
    assert list(sent.headers) == [("trace-id", b"abc")]


async def test_relayed_lifecycle_events_and_notices_name_their_namespace(
    stack: dict[str, str],
) -> None:
    suffix = uuid.uuid4().hex[:8]
    settings = NotifySettings(
        enabled=True,
        bootstrap=stack["ALMANAC_KAFKA_BOOTSTRAP"],
        notify_topic=f"t-notify-{suffix}",
        events_topic=f"t-events-{suffix}",
    )
    run = finished(base=record(namespace=f"team-{suffix}"))
    messages = messages_for_run(run, settings)
    async with fresh_schema(stack["ALMANAC_DATABASE_URL"]) as (pool, _schema):
        await PostgresRunStore(pool).record_run(run, messages)
        relay = OutboxRelay(pool, KafkaPublisher(settings.bootstrap or ""))
        try:
            assert await relay.relay_once() == len(messages) == 2
        finally:
            await relay.aclose()
    async with reading(settings.bootstrap or "", settings.events_topic, settings.notify_topic) as c:
        got: list[ConsumerRecord[bytes, bytes]] = []

        async def both() -> bool:
            for records in (await c.getmany(timeout_ms=500)).values():
                got.extend(records)
            return len(got) == 2

        await eventually(both, timeout=30, interval=0, what="the relayed records")
    for sent in got:
        assert (NAMESPACE_HEADER, f"team-{suffix}".encode()) in list(sent.headers)
