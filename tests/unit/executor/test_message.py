"""The ``message`` payload in-process with a recording producer: Almanac's own topics and
headers are refused before any producer exists (so before any connection), naming the
field; brokers given in params pass the egress guard (the operator's default is trusted);
ordinary records are sent as asked. tests/integration/executor/test_message.py runs
the payload against the stack's Kafka."""

from __future__ import annotations

import ipaddress
import json
from pathlib import Path
from typing import Any

import pytest

from almanac.core.kafkanames import NAMESPACE_HEADER, KafkaNames
from almanac.executor.environment import Settings
from almanac.executor.errors import PayloadFailedError, RefusedTargetError
from almanac.executor.payloads.message import execute
from tests.unit.executor.fakes import FakeResolver, RecordingProducers, SentRecord
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


GUARD_RESOLVER = FakeResolver(
    {
        "kafka.internal.example": ["10.0.0.9"],
        "kafka.metadata.example": ["169.254.169.254"],
        "kafka.example": ["93.184.216.34"],
        "kafka-v6.example": ["2606:4700::1111"],
        "kafka.pods.example": ["10.244.0.9"],
    }
)

#: name -> (params.bootstrap, reason the guard gives)
REFUSED_BROKERS: dict[str, tuple[str, str]] = {
    "private-literal": ("10.0.0.9:9092", "private"),
    "loopback-without-port": ("127.0.0.1", "loopback"),
    "bracketed-v6-loopback": ("[::1]:9092", "loopback"),
    "bare-v6-site-local": ("fec0::9", "site-local (deprecated fec0::/10)"),
    "name-resolving-to-private": ("kafka.internal.example:9092", "private"),
    "name-resolving-to-metadata": ("kafka.metadata.example", "link-local (cloud metadata service)"),
    "second-of-two-brokers": ("kafka.example:9092, 10.0.0.9:9092", "private"),
    "nat64-embedding-private": ("[64:ff9b::a00:9]:9092", "NAT64 (embeds 10.0.0.9, private)"),
    "the-operators-brokers-given-differently": ("10.244.0.1:9092,10.244.0.2", "private"),
}


def guarded_context(tmp_path: Path, producers: RecordingProducers, *allow: str) -> Any:
    guarded = Settings(
        result_path=tmp_path / "result.json",
        secrets_dir=tmp_path / "secrets",
        kafka_bootstrap=BROKERS,
        allow_cidrs=tuple(ipaddress.ip_network(cidr) for cidr in allow),
    )
    return make_context(tmp_path, "message", GUARD_RESOLVER, settings=guarded, producers=producers)


@pytest.mark.parametrize("name", sorted(REFUSED_BROKERS))
async def test_internal_brokers_from_params_are_refused_before_any_producer_exists(
    tmp_path: Path, name: str
) -> None:
    bootstrap, reason = REFUSED_BROKERS[name]
    producers = RecordingProducers()
    ctx = guarded_context(tmp_path, producers)
    with pytest.raises(RefusedTargetError) as caught:
        await execute({"topic": "reports.daily", "value": "x", "bootstrap": bootstrap}, ctx)
    assert caught.value.field == "params.bootstrap"
    assert caught.value.details["reason"] == reason
    assert "--allow-cidrs" in caught.value.message
    assert producers.made == []


#: name -> (params.bootstrap or None, allowed CIDRs, bootstrap_servers the producer gets)
ADMITTED: dict[str, tuple[str | None, tuple[str, ...], str | list[str]]] = {
    "operator-default-is-trusted": (None, (), BROKERS),
    "operator-default-repeated-verbatim-is-trusted": (BROKERS, (), BROKERS),
    "public-name-pinned-to-its-address": ("kafka.example:9093", (), ["93.184.216.34:9093"]),
    "public-v6-name-pinned-in-brackets": ("kafka-v6.example", (), ["[2606:4700::1111]:9092"]),
    "allow-listed-literals": (
        "10.244.0.7:9092,[fd00::7]",
        ("10.244.0.0/24", "fd00::/64"),
        ["10.244.0.7:9092", "[fd00::7]:9092"],
    ),
    "allow-listed-name": ("kafka.pods.example:29092", ("10.244.0.0/24",), ["10.244.0.9:29092"]),
}


@pytest.mark.parametrize("name", sorted(ADMITTED))
async def test_admitted_brokers_are_used_as_vetted(tmp_path: Path, name: str) -> None:
    bootstrap, allow, servers = ADMITTED[name]
    producers = RecordingProducers()
    ctx = guarded_context(tmp_path, producers, *allow)
    params: dict[str, Any] = {"topic": "reports.daily", "value": "x"}
    if bootstrap is not None:
        params["bootstrap"] = bootstrap
    result = await execute(params, ctx)
    assert result.ok, result.summary
    assert [options["bootstrap_servers"] for options in producers.made] == [servers]


@pytest.mark.parametrize(
    "bootstrap",
    [
        pytest.param("kafka.example:notaport", id="port-not-a-number"),
        pytest.param("kafka.example:0", id="port-zero"),
        pytest.param(":9092", id="no-host"),
        pytest.param("[::1:9092", id="unclosed-bracket"),
        pytest.param("[::1]9092", id="no-colon-after-bracket"),
        pytest.param("a:b:c", id="colons-but-not-ipv6"),
    ],
)
async def test_malformed_bootstrap_is_named_before_any_producer_exists(
    tmp_path: Path, bootstrap: str
) -> None:
    producers = RecordingProducers()
    ctx = guarded_context(tmp_path, producers)
    with pytest.raises(PayloadFailedError) as caught:
        await execute({"topic": "reports.daily", "value": "x", "bootstrap": bootstrap}, ctx)
    assert caught.value.field == "params.bootstrap"
    assert "is not host:port" in caught.value.message
    assert producers.made == []
