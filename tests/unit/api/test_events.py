"""``POST /events`` without a cluster or a broker: the record built, the publisher's outcomes,
and the route's validation, tenancy and status codes (Kafka replaced by notify's fake)."""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from types import SimpleNamespace
from typing import Any, cast

import httpx
import pytest

from almanac.api import BASE_PATH, ApiSettings, create_app, encode_identity
from almanac.api.errors import UpstreamError
from almanac.api.events import (
    MAX_EVENT_BYTES,
    NAMESPACE_HEADER,
    TriggerPublisher,
    trigger_message,
)
from almanac.api.kube import KubeFacade
from almanac.api.mapping import LABEL_ORG_ID
from almanac.api.metrics import ApiMetrics
from almanac.api.schemas import EventInput
from almanac.api.service import JobService
from almanac.notify.publisher import KafkaPublisher, Message
from tests.support.publisher import FakePublisher
from tests.unit.api.client import in_process

NOW = datetime(2026, 12, 1, 10, 0, 0, tzinfo=UTC)
TOPIC = "almanac.triggers"
IDENTITY = {"x-rh-identity": encode_identity("101")}
EVENTS = f"{BASE_PATH}/events"


def _value(message: Message) -> dict[str, Any]:
    value: dict[str, Any] = json.loads(message.value.decode("utf-8"))
    return value


# --- the record ------------------------------------------------------------------------------


def test_record_value_carries_event_time_source_and_organisation() -> None:
    event = EventInput(id="e-1", type="ticket.opened", data={"ticket": "T-9", "n": [1, 2]})

    message = trigger_message(
        event, event_id="e-1", topic=TOPIC, namespace="org-101", org_id="101", now=NOW
    )

    assert message.topic == TOPIC
    assert _value(message) == {
        "id": "e-1",
        "type": "ticket.opened",
        "data": {"ticket": "T-9", "n": [1, 2]},
        "time": "2026-12-01T10:00:00Z",
        "source": "almanac-api",
        "namespace": "org-101",
        "orgId": "101",
    }


def test_record_headers_name_the_namespace_and_the_event_id() -> None:
    message = trigger_message(
        EventInput(type="t"),
        event_id="e-1",
        topic=TOPIC,
        namespace="org-101",
        org_id="101",
        now=NOW,
    )

    assert dict(message.headers) == {NAMESPACE_HEADER: b"org-101", "event-id": b"e-1"}


@pytest.mark.parametrize(
    ("key", "expected"), [(None, "e-1"), ("ticket-9", "ticket-9")], ids=["no-key", "key"]
)
def test_record_key_is_the_given_key_else_the_event_id(key: str | None, expected: str) -> None:
    message = trigger_message(
        EventInput(type="t", key=key),
        event_id="e-1",
        topic=TOPIC,
        namespace="org-101",
        org_id="101",
        now=NOW,
    )

    assert message.key == expected


def test_record_value_is_utf8_json_for_non_ascii_data() -> None:
    message = trigger_message(
        EventInput(type="t", data={"name": "Zoë ✓"}),
        event_id="e",
        topic=TOPIC,
        namespace="org-1",
        org_id="1",
        now=NOW,
    )

    assert _value(message)["data"] == {"name": "Zoë ✓"}


# --- the publisher ---------------------------------------------------------------------------


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


def _counts(metrics: ApiMetrics) -> dict[str, float | None]:
    return {
        outcome: metrics.registry.get_sample_value("almanac_api_events_total", {"outcome": outcome})
        for outcome in ("published", "failed")
    }


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
    assert [_value(m)["type"] for m in fake.sent] == ["a", "b"]
    assert _value(fake.sent[0])["time"] == "2026-12-01T10:00:00Z"


async def test_publisher_generates_a_uuid4_id_when_the_event_has_none() -> None:
    fake = FakePublisher()
    publisher = TriggerPublisher(fake, TOPIC)

    message = await publisher.trigger(EventInput(type="a"), namespace="org-1", org_id="1")

    assert uuid.UUID(message.event_id).version == 4
    assert _value(fake.sent[0])["id"] == message.event_id == fake.sent[0].key


async def test_publisher_without_kafka_refuses_naming_the_bootstrap_variable() -> None:
    metrics = ApiMetrics()
    publisher = TriggerPublisher(None, TOPIC, outcomes=metrics.events)

    with pytest.raises(UpstreamError) as caught:
        await publisher.trigger(EventInput(id="e-1", type="a"), namespace="org-1", org_id="1")

    assert "ALMANAC_KAFKA_BOOTSTRAP" in caught.value.message
    assert _counts(metrics) == {"published": 0.0, "failed": 1.0}


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
    assert _counts(metrics) == {"published": 1.0, "failed": 1.0}


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


# --- the route -------------------------------------------------------------------------------


@dataclass
class FakeKube:
    """Namespaces and their labels, as the API server would answer ``namespace_labels``."""

    namespaces: dict[str, dict[str, str]] = field(default_factory=dict)
    created: list[str] = field(default_factory=list)

    async def namespace_labels(self, namespace: str) -> dict[str, str] | None:
        return self.namespaces.get(namespace)

    async def create_namespace(self, namespace: str, labels: dict[str, str]) -> None:
        self.created.append(namespace)
        self.namespaces[namespace] = labels


@dataclass
class Facade:
    """An app whose context holds fakes instead of clients."""

    client: httpx.AsyncClient
    kafka: FakePublisher
    kube: FakeKube
    metrics: ApiMetrics


def _facade(
    kafka: FakePublisher | None = None,
    kube: FakeKube | None = None,
    *,
    create_namespaces: bool = True,
    kafka_configured: bool = True,
) -> Facade:
    settings = ApiSettings(create_namespaces=create_namespaces)
    kafka = kafka if kafka is not None else FakePublisher()
    kube = kube if kube is not None else FakeKube()
    app = create_app(settings)
    metrics: ApiMetrics = app.state.metrics
    service = JobService(
        settings=settings,
        kube=cast(KubeFacade, kube),
        store=cast(Any, None),
        catalog=cast(Any, None),
    )
    events = TriggerPublisher(
        kafka if kafka_configured else None, settings.trigger_topic, outcomes=metrics.events
    )
    app.state.context = SimpleNamespace(service=service, events=events)
    return Facade(in_process(app), kafka, kube, metrics)


async def test_post_event_is_202_and_publishes_for_the_callers_namespace() -> None:
    facade = _facade()

    reply = await facade.client.post(
        EVENTS,
        json={"id": "e-1", "type": "ticket.opened", "data": {"ticket": "T-9"}, "key": "T-9"},
        headers=IDENTITY,
    )

    assert reply.status_code == 202, reply.text
    assert reply.json() == {"id": "e-1", "topic": TOPIC, "namespace": "org-101"}
    [message] = facade.kafka.sent
    assert (message.topic, message.key) == (TOPIC, "T-9")
    assert dict(message.headers)[NAMESPACE_HEADER] == b"org-101"
    value = _value(message)
    assert (value["id"], value["type"], value["data"]) == (
        "e-1",
        "ticket.opened",
        {"ticket": "T-9"},
    )
    assert (value["namespace"], value["orgId"], value["source"]) == (
        "org-101",
        "101",
        "almanac-api",
    )
    assert _counts(facade.metrics) == {"published": 1.0, "failed": 0.0}


async def test_post_event_without_id_answers_the_generated_one() -> None:
    facade = _facade()

    reply = await facade.client.post(EVENTS, json={"type": "ticket.opened"}, headers=IDENTITY)

    assert reply.status_code == 202, reply.text
    generated = reply.json()["id"]
    assert uuid.UUID(generated).version == 4
    assert _value(facade.kafka.sent[0]) | {"time": None} == {
        "id": generated,
        "type": "ticket.opened",
        "data": {},
        "time": None,
        "source": "almanac-api",
        "namespace": "org-101",
        "orgId": "101",
    }


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({}, "type"),
        ({"type": ""}, "type"),
        ({"type": "   "}, "type"),
        ({"type": "t" * 201}, "type"),
        ({"type": 5}, "type"),
        ({"type": "t", "id": ""}, "id"),
        ({"type": "t", "id": "i" * 201}, "id"),
        ({"type": "t", "data": [1]}, "data"),
        ({"type": "t", "data": "text"}, "data"),
        ({"type": "t", "key": 7}, "key"),
        ({"type": "t", "colour": "red"}, "colour"),
        ({"type": "\ud800"}, "type"),
        ({"type": "t", "id": "a\udfff"}, "id"),
        ({"type": "t", "key": "\ud800"}, "key"),
        ({"type": "t", "key": ""}, "key"),
    ],
    ids=[
        "missing-type",
        "empty-type",
        "blank-type",
        "long-type",
        "type-not-text",
        "empty-id",
        "long-id",
        "data-list",
        "data-text",
        "key-not-text",
        "unknown-key",
        "type-lone-surrogate",
        "id-lone-surrogate",
        "key-lone-surrogate",
        "empty-key",
    ],
)
async def test_invalid_event_is_400_naming_the_field(body: dict[str, Any], field: str) -> None:
    facade = _facade()

    # json.dumps escapes lone surrogates, which httpx cannot encode
    reply = await facade.client.post(
        EVENTS,
        content=json.dumps(body).encode(),
        headers=IDENTITY | {"content-type": "application/json"},
    )

    assert reply.status_code == 400, reply.text
    assert field in [e["field"] for e in reply.json()["errors"]]
    assert facade.kafka.sent == []


async def test_event_data_with_a_lone_surrogate_is_published_as_escaped_json() -> None:
    facade = _facade()

    reply = await facade.client.post(
        EVENTS,
        content=b'{"type": "t", "data": {"s": "\\ud800"}}',
        headers=IDENTITY | {"content-type": "application/json"},
    )

    assert reply.status_code == 202, reply.text
    assert b'"s":"\\ud800"' in facade.kafka.sent[0].value


async def test_event_body_that_is_not_a_json_object_is_400() -> None:
    facade = _facade()

    for content in (b"{not json", b"[]", b'"ticket.opened"'):
        reply = await facade.client.post(
            EVENTS, content=content, headers=IDENTITY | {"content-type": "application/json"}
        )
        assert reply.status_code == 400, (content, reply.text)
    assert facade.kafka.sent == []


async def test_event_body_over_the_limit_is_413_naming_it() -> None:
    facade = _facade()
    body = {"type": "t", "data": {"blob": "x" * MAX_EVENT_BYTES}}

    reply = await facade.client.post(EVENTS, json=body, headers=IDENTITY)

    assert reply.status_code == 413
    [error] = reply.json()["errors"]
    assert (error["field"], error["code"]) == ("body", "too_large")
    assert f"{MAX_EVENT_BYTES // 1024} KiB" in error["message"]
    assert facade.kafka.sent == []


async def test_streamed_event_body_over_the_limit_is_413_without_content_length() -> None:
    facade = _facade()

    async def chunks() -> Any:
        yield b'{"type": "t", "data": {"blob": "'
        yield b"x" * MAX_EVENT_BYTES
        yield b'"}}'

    reply = await facade.client.post(
        EVENTS, content=chunks(), headers=IDENTITY | {"content-type": "application/json"}
    )

    assert reply.status_code == 413
    assert reply.json()["errors"][0]["code"] == "too_large"


@pytest.mark.parametrize(
    ("size", "status"), [(MAX_EVENT_BYTES - 512, 202), (MAX_EVENT_BYTES + 1, 413)]
)
async def test_event_body_just_under_the_limit_is_published(size: int, status: int) -> None:
    facade = _facade()
    envelope = b'{"type":"t","data":{"blob":""}}'
    content = envelope[:-3] + b"x" * (size - len(envelope)) + envelope[-3:]

    reply = await facade.client.post(
        EVENTS, content=content, headers=IDENTITY | {"content-type": "application/json"}
    )

    assert reply.status_code == status, reply.text[:200]


async def test_event_without_identity_is_401_and_malformed_identity_is_400() -> None:
    facade = _facade()

    missing = await facade.client.post(EVENTS, json={"type": "t"})
    malformed = await facade.client.post(
        EVENTS, json={"type": "t"}, headers={"x-rh-identity": "%%"}
    )

    assert missing.status_code == 401
    assert missing.json()["errors"][0]["field"] == "x-rh-identity"
    assert malformed.status_code == 400
    assert malformed.json()["errors"][0]["field"] == "x-rh-identity"
    assert facade.kafka.sent == []


async def test_event_does_not_create_the_organisation_namespace() -> None:
    facade = _facade()

    reply = await facade.client.post(EVENTS, json={"type": "t"}, headers=IDENTITY)

    assert reply.status_code == 202
    assert facade.kube.created == []


async def test_event_into_a_namespace_of_another_organisation_is_403() -> None:
    facade = _facade(kube=FakeKube({"org-101": {LABEL_ORG_ID: "999"}}))

    reply = await facade.client.post(EVENTS, json={"type": "t"}, headers=IDENTITY)

    assert reply.status_code == 403
    assert facade.kafka.sent == []


@pytest.mark.parametrize(
    ("namespaces", "status"),
    [({}, 403), ({"org-101": {LABEL_ORG_ID: "101"}}, 202)],
    ids=["namespace-missing", "namespace-exists"],
)
async def test_event_with_namespace_creation_off_needs_an_existing_namespace(
    namespaces: dict[str, dict[str, str]], status: int
) -> None:
    facade = _facade(kube=FakeKube(namespaces), create_namespaces=False)

    reply = await facade.client.post(EVENTS, json={"type": "t"}, headers=IDENTITY)

    assert reply.status_code == status, reply.text
    assert len(facade.kafka.sent) == (1 if status == 202 else 0)


async def test_event_kafka_outage_is_503_saying_retry_with_the_same_id() -> None:
    facade = _facade(FakePublisher(fail_start=1))

    reply = await facade.client.post(EVENTS, json={"id": "e-1", "type": "t"}, headers=IDENTITY)

    assert reply.status_code == 503
    [error] = reply.json()["errors"]
    assert error["code"] == "upstream_unavailable"
    assert "not published" in error["message"]
    assert "same id" in error["message"]
    assert _counts(facade.metrics) == {"published": 0.0, "failed": 1.0}


async def test_event_without_kafka_configured_is_503_naming_the_bootstrap_variable() -> None:
    facade = _facade(kafka_configured=False)

    reply = await facade.client.post(EVENTS, json={"type": "t"}, headers=IDENTITY)

    assert reply.status_code == 503
    assert "ALMANAC_KAFKA_BOOTSTRAP" in reply.json()["errors"][0]["message"]
    assert _counts(facade.metrics) == {"published": 0.0, "failed": 1.0}


async def test_openapi_documents_the_event_route_with_its_models() -> None:
    document = (await _facade().client.get(f"{BASE_PATH}/openapi.json")).json()

    operation = document["paths"][EVENTS]["post"]
    body = operation["requestBody"]["content"]["application/json"]["schema"]
    accepted = operation["responses"]["202"]["content"]["application/json"]["schema"]
    assert body == {"$ref": "#/components/schemas/EventInput"}
    assert accepted == {"$ref": "#/components/schemas/EventAccepted"}
    assert {"400", "401", "413", "503"} <= set(operation["responses"])
    assert "422" not in operation["responses"]
    schemas = document["components"]["schemas"]
    assert schemas["EventInput"]["required"] == ["type"]
    assert schemas["EventInput"]["additionalProperties"] is False
    assert set(schemas["EventAccepted"]["required"]) == {"id", "topic", "namespace"}


async def test_event_that_grows_over_the_limit_when_published_is_413_naming_data() -> None:
    facade = _facade()
    body = {"type": "t", "data": {"text": "\u00e9" * (MAX_EVENT_BYTES // 4)}}  # escaped: 6 bytes

    reply = await facade.client.post(EVENTS, json=body, headers=IDENTITY)

    assert reply.status_code == 413
    [error] = reply.json()["errors"]
    assert error["field"] == "data"
    assert "as published" in error["message"]
    assert facade.kafka.sent == []
