"""The ``POST /events`` route: validation, size limits, tenancy and status codes (Kafka
replaced by notify's fake, the cluster by a namespace table)."""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass, field
from types import SimpleNamespace
from typing import Any, cast

import httpx
import pytest

from almanac.api import BASE_PATH, ApiSettings, create_app
from almanac.api.events import MAX_EVENT_BYTES, NAMESPACE_HEADER, TriggerPublisher
from almanac.api.kube import KubeFacade
from almanac.api.mapping import LABEL_ORG_ID
from almanac.api.metrics import ApiMetrics
from almanac.api.service import JobService
from tests.support.publisher import FakePublisher
from tests.unit.api.client import in_process
from tests.unit.api.event_support import EVENTS, IDENTITY, TOPIC, outcome_counts, record_value


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
    value = record_value(message)
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
    assert outcome_counts(facade.metrics) == {"published": 1.0, "failed": 0.0}


async def test_post_event_without_id_answers_the_generated_one() -> None:
    facade = _facade()

    reply = await facade.client.post(EVENTS, json={"type": "ticket.opened"}, headers=IDENTITY)

    assert reply.status_code == 202, reply.text
    generated = reply.json()["id"]
    assert uuid.UUID(generated).version == 4
    assert record_value(facade.kafka.sent[0]) | {"time": None} == {
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
    assert outcome_counts(facade.metrics) == {"published": 0.0, "failed": 1.0}


async def test_event_without_kafka_configured_is_503_naming_the_bootstrap_variable() -> None:
    facade = _facade(kafka_configured=False)

    reply = await facade.client.post(EVENTS, json={"type": "t"}, headers=IDENTITY)

    assert reply.status_code == 503
    assert "ALMANAC_KAFKA_BOOTSTRAP" in reply.json()["errors"][0]["message"]
    assert outcome_counts(facade.metrics) == {"published": 0.0, "failed": 1.0}


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
