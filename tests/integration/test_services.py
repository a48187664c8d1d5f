"""The stack's Postgres, Kafka and coordination API work as the operator will use them."""

from __future__ import annotations

import datetime as dt
import os
import uuid
from collections.abc import AsyncIterator

import psycopg
import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from kubernetes_asyncio import client, config
from kubernetes_asyncio.client.exceptions import ApiException

from tests.support import eventually


@pytest.fixture
async def coordination(stack: dict[str, str]) -> AsyncIterator[client.CoordinationV1Api]:
    api = client.ApiClient(await _configuration(stack["KUBECONFIG"]))
    try:
        yield client.CoordinationV1Api(api)
    finally:
        await api.close()


async def _configuration(kubeconfig: str) -> client.Configuration:
    configuration = client.Configuration()
    await config.load_kube_config(config_file=kubeconfig, client_configuration=configuration)
    return configuration


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


async def test_lease_is_acquired_renewed_and_guarded_by_resource_version(
    coordination: client.CoordinationV1Api, namespace: str
) -> None:
    lease = client.V1Lease(
        metadata=client.V1ObjectMeta(name="almanac-leader"),
        spec=client.V1LeaseSpec(
            holder_identity="replica-a",
            lease_duration_seconds=10,
            acquire_time=_now(),
            renew_time=_now(),
        ),
    )
    acquired = await coordination.create_namespaced_lease(namespace, lease)
    acquired.spec.renew_time = _now()
    renewed = await coordination.replace_namespaced_lease("almanac-leader", namespace, acquired)
    assert renewed.spec.holder_identity == "replica-a"
    assert renewed.metadata.resource_version != acquired.metadata.resource_version
    # A second replica writing with the stale version loses: that is what makes one leader.
    acquired.spec.holder_identity = "replica-b"
    with pytest.raises(ApiException) as conflict:
        await coordination.replace_namespaced_lease("almanac-leader", namespace, acquired)
    assert conflict.value.status == 409


async def test_postgres_answers_a_query(stack: dict[str, str]) -> None:
    async with await psycopg.AsyncConnection.connect(stack["ALMANAC_DATABASE_URL"]) as conn:
        cursor = await conn.execute("SELECT current_database(), version()")
        database, version = await cursor.fetchone() or ("", "")
    assert database == "almanac"
    assert version.startswith("PostgreSQL 15")


async def test_kafka_round_trip(stack: dict[str, str]) -> None:
    topic = f"roundtrip-{uuid.uuid4().hex[:8]}"
    bootstrap = stack["ALMANAC_KAFKA_BOOTSTRAP"]
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all")
    await producer.start()
    try:
        await producer.send_and_wait(topic, b"hello", key=b"k1")
    finally:
        await producer.stop()
    consumer = AIOKafkaConsumer(
        topic,
        bootstrap_servers=bootstrap,
        auto_offset_reset="earliest",
        group_id=f"g-{topic}",
    )
    await consumer.start()
    try:
        batch = await eventually(
            lambda: consumer.getmany(timeout_ms=1000), timeout=30, what="a Kafka record"
        )
    finally:
        await consumer.stop()
    (records,) = batch.values()
    assert [(r.key, r.value) for r in records] == [(b"k1", b"hello")]
    assert os.environ["ALMANAC_KAFKA_BOOTSTRAP"] == bootstrap
