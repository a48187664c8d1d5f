"""``check_spec``, the one check of admission and the facade: Kafka tenancy (reserved topics
and headers) on top of parsing and compiling, every problem named by its field."""

from __future__ import annotations

from typing import Any

import pytest

from almanac.core.errors import InvalidSpecError
from almanac.core.kafkanames import NAMESPACE_HEADER, KafkaNames
from almanac.core.specs import check_spec

EVERY_HOUR = {"cron": "0 * * * *"}


def message_job(topic: str, headers: dict[str, str] | None = None) -> dict[str, Any]:
    params: dict[str, Any] = {"topic": topic, "value": {"report": "daily"}}
    if headers is not None:
        params["headers"] = headers
    return {"template": "message", "params": params, "schedule": EVERY_HOUR}


def triggered_job(topic: str, cancel_topic: str | None = None) -> dict[str, Any]:
    trigger: dict[str, Any] = {"name": "on-event", "kafka": {"topic": topic, "key": "event.id"}}
    if cancel_topic is not None:
        trigger["cancelOn"] = [{"kafka": {"topic": cancel_topic, "key": "event.id"}}]
    return {"template": "http", "params": {"url": "https://x.example"}, "triggers": [trigger]}


def refused(spec: dict[str, Any], names: KafkaNames | None = None) -> dict[str, str]:
    """Field → message of every problem ``check_spec`` reports."""
    with pytest.raises(InvalidSpecError) as caught:
        check_spec(spec) if names is None else check_spec(spec, kafka_names=names)
    return {p.field: p.message for p in caught.value.problems}


ACCEPTED: dict[str, dict[str, Any]] = {
    "message-to-an-ordinary-topic-with-a-trace-header": message_job(
        "reports.daily", {"trace-id": "abc"}
    ),
    "message-without-headers": message_job("reports.daily"),
    "trigger-on-the-rest-event-topic": triggered_job("almanac.triggers"),
    "cancel-on-the-rest-event-topic": triggered_job("tickets", "almanac.triggers"),
    "other-template-with-a-topic-param": {
        "template": "http",
        "params": {"topic": "almanac.triggers", "headers": {NAMESPACE_HEADER: "org-b"}},
        "schedule": EVERY_HOUR,
    },
}


@pytest.mark.parametrize("name", sorted(ACCEPTED))
def test_specs_that_stay_in_their_own_kafka_names_are_accepted(name: str) -> None:
    assert check_spec(ACCEPTED[name]).template == ACCEPTED[name]["template"]


REFUSED: dict[str, tuple[dict[str, Any], list[str]]] = {
    "message-forging-a-trigger-for-another-org": (
        message_job("almanac.triggers", {NAMESPACE_HEADER: "org-b"}),
        ["spec.params.topic", "spec.params.headers.almanac-namespace"],
    ),
    "message-forging-a-notice": (
        message_job("platform.notifications.ingress"),
        ["spec.params.topic"],
    ),
    "message-forging-a-lifecycle-event": (message_job("almanac.events"), ["spec.params.topic"]),
    "message-with-a-reserved-header-in-any-case": (
        message_job("reports.daily", {"Almanac-Org": "b"}),
        ["spec.params.headers.Almanac-Org"],
    ),
    "trigger-reading-every-orgs-run-results": (
        triggered_job("almanac.events"),
        ["spec.triggers[0].kafka.topic"],
    ),
    "cancel-reading-every-orgs-run-results": (
        triggered_job("tickets", "almanac.events"),
        ["spec.triggers[0].cancelOn[0].kafka.topic"],
    ),
    "trigger-reading-notices": (
        triggered_job("platform.notifications.ingress"),
        ["spec.triggers[0].kafka.topic"],
    ),
}


@pytest.mark.parametrize("name", sorted(REFUSED))
def test_specs_reaching_almanacs_kafka_names_are_refused_naming_each_field(name: str) -> None:
    spec, fields = REFUSED[name]
    found = refused(spec)
    assert list(found) == fields
    fixes = ("publish to a topic of your own", "rename it", "trigger on a topic of your own")
    for message in found.values():
        assert "is reserved for Almanac" in message
        assert any(f"; {fix}" in message for fix in fixes), message


def test_message_refusal_says_what_and_how_to_fix() -> None:
    found = refused(message_job("almanac.triggers"))
    assert found["spec.params.topic"].startswith("topic 'almanac.triggers' is reserved for Almanac")
    assert found["spec.params.topic"].endswith("; publish to a topic of your own")


def test_reserved_topics_are_reported_with_the_other_trigger_problems() -> None:
    spec = message_job("almanac.triggers")
    spec["triggers"] = [{"kafka": {"topic": "almanac.events", "filter": "event.type =="}}]
    assert set(refused(spec)) == {
        "spec.params.topic",
        "spec.triggers[0].kafka.topic",
        "spec.triggers[0].kafka.filter",
    }


def test_configured_names_move_what_is_reserved() -> None:
    moved = KafkaNames(trigger_topic="tenant.events", notify_topic="ops.notices")
    assert check_spec(triggered_job("tenant.events"), kafka_names=moved)
    assert check_spec(message_job("platform.notifications.ingress"), kafka_names=moved)
    assert list(refused(message_job("ops.notices"), moved)) == ["spec.params.topic"]
    assert list(refused(triggered_job("almanac.triggers"), moved)) == [
        "spec.triggers[0].kafka.topic"
    ]
