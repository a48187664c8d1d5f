"""The trigger publisher without a broker: lazy start, ids, outages, timeouts and closing."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field

import pytest

from almanac.api import ApiSettings
from almanac.api.errors import UpstreamError
from almanac.api.events import TriggerPublisher
from almanac.api.metrics import ApiMetrics
from almanac.api.schemas import EventInput
from almanac.notify.publisher import KafkaPublisher, Message
from tests.support.publisher import FakePublisher
from tests.unit.api.event_support import NOW, TOPIC, outcome_counts, record_value


@dataclass
class HangingPublisher:
    """A broker that accepts the connection but never acknowledges."""

    stopped: list[bool] = field(default_factory=list)

    async def start(self) -> None:
        return None

    async def publish(self, messages: Sequence[Message]) -> list[BaseException | None]:
        await asyncio.Event().wait()
        return []

    async def stop(self) -> None:
        self.stopped.append(True)


@dataclass
class CountingPublisher(FakePublisher):
    """The fake broker, counting producer starts."""

    starts: int = 0

    async def start(self) -> None:
        self.starts += 1
        await super().start()


async def test_publisher_starts_the_producer_on_the_first_event_only() -> None:
    fake = CountingPublisher()
    publisher = TriggerPublisher(fake, TOPIC, clock=lambda: NOW)
    assert fake.starts == 0

    first = await publisher.trigger(EventInput(type="a"), namespace="org-1", org_id="1")
    await publisher.trigger(EventInput(type="b"), namespace="org-1", org_id="1")

    assert fake.starts == 1
    assert fake.sent[0].event_id == first.event_id
    assert [record_value(m)["type"] for m in fake.sent] == ["a", "b"]
    assert record_value(fake.sent[0])["time"] == "2026-12-01T10:00:00Z"


async def test_publisher_generates_a_uuid4_id_when_the_event_has_none() -> None:
    fake = FakePublisher()
    publisher = TriggerPublisher(fake, TOPIC)

    message = await publisher.trigger(EventInput(type="a"), namespace="org-1", org_id="1")

    assert uuid.UUID(message.event_id).version == 4
    assert record_value(fake.sent[0])["id"] == message.event_id == fake.sent[0].key


async def test_publisher_without_kafka_refuses_naming_the_bootstrap_variable() -> None:
    metrics = ApiMetrics()
    publisher = TriggerPublisher(None, TOPIC, outcomes=metrics.events)

    with pytest.raises(UpstreamError) as caught:
        await publisher.trigger(EventInput(id="e-1", type="a"), namespace="org-1", org_id="1")

    assert "ALMANAC_KAFKA_BOOTSTRAP" in caught.value.message
    assert outcome_counts(metrics) == {"published": 0.0, "failed": 1.0}


async def test_publisher_retries_the_start_on_the_next_event_after_an_outage() -> None:
    metrics = ApiMetrics()
    fake = FakePublisher(fail_start=1)
    publisher = TriggerPublisher(fake, TOPIC, outcomes=metrics.events)

    with pytest.raises(UpstreamError) as caught:
        await publisher.trigger(EventInput(id="e-1", type="a"), namespace="org-1", org_id="1")
    await publisher.trigger(EventInput(id="e-1", type="a"), namespace="org-1", org_id="1")

    assert "not published" in caught.value.message
    assert "retry with the same id" in caught.value.message
    assert "'e-1'" in caught.value.message
    assert [m.event_id for m in fake.sent] == ["e-1"]
    assert outcome_counts(metrics) == {"published": 1.0, "failed": 1.0}


async def test_publisher_reports_a_refused_send_as_not_published() -> None:
    fake = FakePublisher(fail_publish=1)
    publisher = TriggerPublisher(fake, TOPIC)

    with pytest.raises(UpstreamError) as caught:
        await publisher.trigger(EventInput(id="e-1", type="a"), namespace="org-1", org_id="1")

    assert caught.value.status == 503
    assert "Kafka is unavailable" in caught.value.message
    assert fake.sent == []


async def test_publisher_gives_up_when_kafka_never_acknowledges() -> None:
    publisher = TriggerPublisher(HangingPublisher(), TOPIC, timeout=0.05)

    with pytest.raises(UpstreamError) as caught:
        await publisher.trigger(EventInput(id="e-1", type="a"), namespace="org-1", org_id="1")

    assert "did not acknowledge it within 0.05s" in caught.value.message


async def test_publisher_stops_the_producer_only_if_it_started() -> None:
    never_used, used = HangingPublisher(), FakePublisher()
    await TriggerPublisher(never_used, TOPIC).aclose()
    publisher = TriggerPublisher(used, TOPIC)
    await publisher.trigger(EventInput(type="a"), namespace="org-1", org_id="1")

    await publisher.aclose()

    assert never_used.stopped == []
    assert not used.started


def test_publisher_from_settings_uses_kafka_only_when_a_bootstrap_is_set() -> None:
    configured = ApiSettings(kafka_bootstrap="127.0.0.1:9", trigger_topic="t.x")

    publisher = TriggerPublisher.from_settings(configured, None)

    assert isinstance(publisher._publisher, KafkaPublisher)
    assert publisher.topic == "t.x"
    assert TriggerPublisher.from_settings(ApiSettings(), None)._publisher is None
