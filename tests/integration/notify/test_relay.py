"""The outbox relay delivers every committed notification to the stack's Kafka."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from typing import Any

import pytest
from aiokafka import AIOKafkaConsumer
from psycopg_pool import AsyncConnectionPool

from almanac.core.status import RunPhase
from almanac.history import Backoff, PostgresRunStore
from almanac.notify import KafkaPublisher, NotifySettings, OutboxRelay, messages_for_run
from tests.integration.history.proxy import closed_port
from tests.support import eventually
from tests.support.kafka import reading
from tests.unit.history.builders import finished, record, running


@pytest.fixture
async def consumer(settings: NotifySettings) -> AsyncIterator[AIOKafkaConsumer]:
    async with reading(settings.bootstrap or "", settings.notify_topic, settings.events_topic) as c:
        yield c


async def _undelivered(pool: AsyncConnectionPool) -> int:
    async with pool.connection() as conn:
        cur = await conn.execute("SELECT count(*) FROM outbox WHERE delivered_at IS NULL")
        row = await cur.fetchone()
    return int(row[0]) if row else -1


async def _record_three_runs(store: PostgresRunStore, settings: NotifySettings) -> set[str]:
    ids: set[str] = set()
    for i, phase in enumerate([RunPhase.SUCCEEDED, RunPhase.FAILED, RunPhase.SUCCEEDED]):
        base = record(run=f"nightly-{i}")
        for step in (running(base), finished(phase, base)):
            messages = messages_for_run(step, settings)
            ids |= {m.event_id for m in messages}
            await store.record_run(step, messages)
            await store.record_run(step, messages)  # a replay adds nothing
    return ids


async def test_relay_delivers_after_kafka_was_unreachable(
    store: PostgresRunStore,
    pool: AsyncConnectionPool,
    settings: NotifySettings,
    consumer: AIOKafkaConsumer,
) -> None:
    expected = await _record_three_runs(store, settings)
    assert len(expected) == 9  # 3 x (started, final event, completion notice)

    down = OutboxRelay(pool, KafkaPublisher(f"127.0.0.1:{closed_port()}", request_timeout=2))
    assert await down.relay_once() == 0
    assert not down.healthy
    await down.aclose()
    assert await _undelivered(pool) == 9

    relay = OutboxRelay(
        pool, KafkaPublisher(settings.bootstrap or ""), backoff=Backoff(initial=0.1, maximum=1)
    )
    try:
        await eventually(relay.relay_once, timeout=60, interval=0.2, what="a delivered batch")
        await eventually(
            lambda: _undelivered_is_zero(pool), timeout=60, interval=0.2, what="all delivered"
        )
        assert relay.healthy
    finally:
        await relay.aclose()

    received: dict[str, list[dict[str, Any]]] = {}

    async def collect() -> bool:
        batches = await consumer.getmany(timeout_ms=500)
        for records in batches.values():
            for message in records:
                payload = json.loads(message.value)
                headers = dict(message.headers)
                assert headers["event-id"].decode() == payload["id"]
                received.setdefault(payload["id"], []).append(payload)
        return set(received) == expected

    await eventually(collect, timeout=60, interval=0.1, what="every event on Kafka")
    assert all(len(copies) == 1 for copies in received.values())
    notices = [p[0] for p in received.values() if "bundle" in p[0]]
    assert sorted(n["context"]["status"] for n in notices) == ["complete", "complete", "failed"]
    assert {n["org_id"] for n in notices} == {"000101"}


async def _undelivered_is_zero(pool: AsyncConnectionPool) -> bool:
    return await _undelivered(pool) == 0


async def test_two_relays_never_publish_a_row_twice(
    store: PostgresRunStore,
    pool: AsyncConnectionPool,
    settings: NotifySettings,
    consumer: AIOKafkaConsumer,
) -> None:
    expected = await _record_three_runs(store, settings)
    relays = [
        OutboxRelay(pool, KafkaPublisher(settings.bootstrap or ""), batch_size=2) for _ in range(2)
    ]
    try:

        async def both_pass() -> bool:
            await asyncio.gather(*(relay.relay_once() for relay in relays))
            return await _undelivered_is_zero(pool)

        await eventually(both_pass, timeout=60, interval=0.1, what="all delivered")
    finally:
        for relay in relays:
            await relay.aclose()

    counts: dict[str, int] = {}

    async def collect() -> bool:
        for records in (await consumer.getmany(timeout_ms=500)).values():
            for message in records:
                key = json.loads(message.value)["id"]
                counts[key] = counts.get(key, 0) + 1
        return set(counts) == expected

    await eventually(collect, timeout=60, interval=0.1, what="every event on Kafka")
    assert set(counts.values()) == {1}
