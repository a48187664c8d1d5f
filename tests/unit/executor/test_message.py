"""The ``message`` payload in-process with a recording producer: Almanac's own topics and
headers are refused before any producer exists (so before any connection), naming the
field; ordinary records are sent as asked. tests/integration/executor/test_message.py runs
the payload against the stack's Kafka."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from almanac.core.kafkanames import NAMESPACE_HEADER, KafkaNames
from almanac.executor.environment import Settings
from almanac.executor.errors import PayloadFailedError
from almanac.executor.payloads.message import execute
from tests.unit.executor.fakes import RecordingProducers, SentRecord
from tests.unit.executor.support import make_context

BROKERS = "10.244.0.1:9092"


def settings(tmp_path: Path, names: KafkaNames | None = None) -> Settings:
    return Settings(
        result_path=tmp_path / "result.json",
        secrets_dir=tmp_path / "secrets",
        kafka_bootstrap=BROKERS,
        kafka_names=names or KafkaNames(),
    )


async def refusal(
    tmp_path: Path, params: dict[str, Any], names: KafkaNames | None = None
) -> tuple[PayloadFailedError, RecordingProducers]:
    producers = RecordingProducers()
    ctx = make_context(tmp_path, "message", settings=settings(tmp_path, names), producers=producers)
    with pytest.raises(PayloadFailedError) as caught:
        await execute(params, ctx)
    return caught.value, producers


REFUSED: dict[str, tuple[dict[str, Any], str]] = {
    "trigger-for-another-org": (
        {"topic": "almanac.triggers", "value": "{}", "headers": {NAMESPACE_HEADER: "org-b"}},
        "params.topic",
    ),
    "forged-lifecycle-event": ({"topic": "almanac.events", "value": {}}, "params.topic"),
    "forged-notice": ({"topic": "platform.notifications.ingress", "value": {}}, "params.topic"),
    "reserved-header-on-an-ordinary-topic": (
        {"topic": "reports.daily", "value": "x", "headers": {"ALMANAC-NAMESPACE": "org-b"}},
        "params.headers.ALMANAC-NAMESPACE",
    ),
    "before-the-value-and-brokers-are-checked": (
        {"topic": "almanac.triggers", "value": None, "bootstrap": "127.0.0.1:1"},
        "params.topic",
    ),
}


@pytest.mark.parametrize("name", sorted(REFUSED))
async def test_reserved_names_are_refused_before_any_producer_exists(
    tmp_path: Path, name: str
) -> None:
    params, field = REFUSED[name]
    error, producers = await refusal(tmp_path, params)
    assert error.field == field
    assert "is reserved for Almanac" in error.message
    assert producers.made == []
    assert producers.sent == []


async def test_every_reserved_name_is_listed_with_its_field(tmp_path: Path) -> None:
    params = {"topic": "almanac.triggers", "value": "x", "headers": {NAMESPACE_HEADER: "org-b"}}
    error, _ = await refusal(tmp_path, params)
    assert error.message.startswith("params.topic: topic 'almanac.triggers' is reserved")
    assert [p["field"] for p in error.details["problems"]] == [
        "params.topic",
        "params.headers.almanac-namespace",
    ]


async def test_the_configured_notification_topic_is_refused(tmp_path: Path) -> None:
    moved = KafkaNames(notify_topic="ops.notices")
    error, producers = await refusal(tmp_path, {"topic": "ops.notices", "value": "x"}, moved)
    assert (error.field, producers.made) == ("params.topic", [])


async def test_an_ordinary_record_is_sent_with_its_key_and_headers(tmp_path: Path) -> None:
    producers = RecordingProducers()
    ctx = make_context(tmp_path, "message", settings=settings(tmp_path), producers=producers)
    params = {
        "topic": "reports.daily",
        "key": "org-000101",
        "value": {"rows": 3},
        "headers": {"trace-id": "abc"},
    }
    result = await execute(params, ctx)
    assert result.ok, result.summary
    assert [options["bootstrap_servers"] for options in producers.made] == [BROKERS]
    assert producers.made[0]["acks"] == "all"
    assert producers.sent == [
        SentRecord(
            "reports.daily", json.dumps({"rows": 3}).encode(), b"org-000101", [("trace-id", b"abc")]
        )
    ]
    assert result.details["topic"] == "reports.daily"
