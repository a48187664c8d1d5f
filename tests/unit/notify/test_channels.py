"""Sending one delivery: the webhook's body and headers (its Secret read at send time and
never in an error), a non-2xx answer as a failure, Kafka topics checked again at send
time, e-mail without an SMTP server. In-memory peers only."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest

from almanac.core.kafkanames import KafkaNames
from almanac.core.topicpolicy import ANY_TOPIC, TopicAllowList
from almanac.notify.channels import DELIVERY_HEADER, Channels, DeliveryFailed
from almanac.notify.deliveries import Delivery
from almanac.notify.messages import Notice
from almanac.notify.noticesettings import NoticeSettings, WebhookAllowList
from almanac.notify.webhookguard import WebhookGuard
from tests.support.publisher import FakePublisher
from tests.unit.executor.fakes import FakeResolver, RecordingPeer

NOTICE = Notice("team-a", "nightly", "uid-1", "Failed", datetime(2026, 3, 1, tzinfo=UTC), run="r-1")
SECRET = "tok-9f8e7d"


async def read_secret(namespace: str, name: str, key: str) -> str:
    if (namespace, name, key) == ("team-a", "hook", "token"):
        return SECRET
    raise KeyError(key)


def channels(
    peer: RecordingPeer | None = None,
    *,
    topics: TopicAllowList = ANY_TOPIC,
    kafka: FakePublisher | None = None,
) -> Channels:
    guard = WebhookGuard(
        WebhookAllowList(),
        resolver=FakeResolver({"hooks.example.com": ["93.184.216.34"]}),
        transport=httpx.MockTransport((peer or RecordingPeer()).handle),
    )

    async def allowed(namespace: str) -> TopicAllowList:
        return topics

    return Channels(
        NoticeSettings(),
        webhook=guard,
        secrets=read_secret,
        kafka=kafka,
        topics=allowed,
        names=KafkaNames(),
    )


def delivery(channel: str, target: dict[str, Any]) -> Delivery:
    return Delivery(
        "d-1", "team-a", "nightly", "uid-1", "r-1", 0, channel, target, NOTICE.to_json()
    )


async def test_a_webhook_posts_slack_json_with_its_delivery_id_and_secret_header() -> None:
    peer = RecordingPeer()
    target = {
        "url": "https://hooks.example.com/x",
        "secretHeader": {"name": "X-Token", "secretKeyRef": {"name": "hook", "key": "token"}},
    }
    await channels(peer).send(delivery("webhook", target))
    [request] = peer.requests
    assert request.headers["x-token"] == SECRET
    assert request.headers[DELIVERY_HEADER] == "d-1"
    assert "team-a/nightly" in json.loads(request.content)["text"]


async def test_a_webhook_url_may_come_from_a_secret() -> None:
    peer = RecordingPeer()

    async def url(namespace: str, name: str, key: str) -> str:
        return "https://hooks.example.com/services/T/B/xyz"

    c = channels(peer)
    c._secrets = url
    await c.send(delivery("webhook", {"urlFrom": {"name": "hook", "key": "url"}}))
    assert peer.requests[0].url.path == "/services/T/B/xyz"


async def test_a_webhook_answering_500_fails_without_the_secret_in_the_reason() -> None:
    peer = RecordingPeer(lambda r: httpx.Response(500, text="boom"))
    target = {
        "url": "https://hooks.example.com/x",
        "secretHeader": {"name": "X-Token", "secretKeyRef": {"name": "hook", "key": "token"}},
    }
    with pytest.raises(DeliveryFailed) as caught:
        await channels(peer).send(delivery("webhook", target))
    assert "HTTP 500" in caught.value.message
    assert SECRET not in caught.value.message
    assert caught.value.field == "spec.notifications[0].webhook.url"


async def test_a_missing_secret_fails_naming_the_reference() -> None:
    target = {
        "url": "https://hooks.example.com/x",
        "secretHeader": {"name": "X-Token", "secretKeyRef": {"name": "gone", "key": "token"}},
    }
    with pytest.raises(DeliveryFailed, match="'gone'") as caught:
        await channels().send(delivery("webhook", target))
    assert caught.value.field == "spec.notifications[0].webhook.secretHeader"


async def test_kafka_publishes_the_record_with_the_namespace_header() -> None:
    kafka = FakePublisher()
    await channels(kafka=kafka).send(delivery("kafka", {"topic": "team-a.alerts"}))
    [message] = kafka.sent
    assert message.topic == "team-a.alerts"
    assert json.loads(message.value)["run_id"] == "r-1"
    assert ("almanac-namespace", b"team-a") in message.headers


@pytest.mark.parametrize(
    ("topic", "allowed", "field"),
    [
        ("team-b.alerts", TopicAllowList(("team-a.*",)), "spec.notifications[0].kafka.topic"),
        ("almanac.events", ANY_TOPIC, "spec.notifications[0].kafka.topic"),
    ],
    ids=["narrowed-allow-list", "reserved-topic"],
)
async def test_a_kafka_topic_is_checked_again_when_sent(
    topic: str, allowed: TopicAllowList, field: str
) -> None:
    kafka = FakePublisher()
    with pytest.raises(DeliveryFailed) as caught:
        await channels(topics=allowed, kafka=kafka).send(delivery("kafka", {"topic": topic}))
    assert caught.value.field == field
    assert kafka.sent == []


async def test_email_without_an_smtp_server_fails_naming_the_setting() -> None:
    with pytest.raises(DeliveryFailed, match="ALMANAC_NOTIFICATIONS_SMTP_HOST"):
        await channels().send(delivery("email", {"to": ["ops@example.com"]}))
