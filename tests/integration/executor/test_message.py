"""The message payload against the local stack's Kafka.

The operator's ``ALMANAC_KAFKA_BOOTSTRAP`` is trusted; brokers given in params pass the
egress guard, so those runs get 127.0.0.1 allowed (``ALMANAC_HTTP_ALLOW_CIDRS``).
"""

from __future__ import annotations

import json
import uuid

from aiokafka import AIOKafkaConsumer

from tests.integration.executor.conftest import RunExecutor
from tests.support import eventually


async def test_record_is_published_with_key_headers_and_offset(
    run_executor: RunExecutor, stack: dict[str, str]
) -> None:
    topic = f"t-executor-{uuid.uuid4().hex[:8]}"
    params = {
        "topic": topic,
        "key": "org-000101",
        "value": {"report": "nightly", "rows": 3},
        "headers": {"source": "almanac"},
    }
    run = run_executor("message", params, ALMANAC_KAFKA_BOOTSTRAP=stack["ALMANAC_KAFKA_BOOTSTRAP"])
    assert run.code == 0, run.result
    assert (run.details["topic"], run.details["offset"]) == (topic, 0)
    consumer = AIOKafkaConsumer(
        topic,
        bootstrap_servers=stack["ALMANAC_KAFKA_BOOTSTRAP"],
        auto_offset_reset="earliest",
        group_id=f"g-{topic}",
    )
    await consumer.start()
    try:
        batch = await eventually(
            lambda: consumer.getmany(timeout_ms=1000), timeout=30, what="the published record"
        )
    finally:
        await consumer.stop()
    ((record,),) = batch.values()
    assert record.key == b"org-000101"
    assert json.loads(record.value) == {"report": "nightly", "rows": 3}
    assert list(record.headers) == [("source", b"almanac")]
    assert record.partition == run.details["partition"]


def test_missing_brokers_are_named(run_executor: RunExecutor) -> None:
    run = run_executor("message", {"topic": "t", "value": "v"})
    assert run.details == {"error": "payload_failed", "field": "params.bootstrap"}


def test_unreachable_brokers_fail_within_the_timeout(
    run_executor: RunExecutor, closed_port: int
) -> None:
    params = {"topic": "t", "value": "v", "bootstrap": f"127.0.0.1:{closed_port}", "timeout": "2s"}
    run = run_executor("message", params, ALMANAC_HTTP_ALLOW_CIDRS="127.0.0.1/32")
    assert run.code == 1
    assert run.details["error"] == "payload_failed"
    assert f"via 127.0.0.1:{closed_port}" in run.result["summary"]


def test_loopback_brokers_from_params_are_refused_without_policy(
    run_executor: RunExecutor, closed_port: int
) -> None:
    params = {"topic": "t", "value": "v", "bootstrap": f"127.0.0.1:{closed_port}"}
    run = run_executor("message", params)
    assert run.code == 1
    assert run.details["error"] == "refused_target"
    assert (run.details["field"], run.details["reason"]) == ("params.bootstrap", "loopback")
