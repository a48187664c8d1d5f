"""Almanac's reserved Kafka names: which topics and headers are Almanac's own, what a run
may publish, what a trigger may read, and which namespaces a record reaches."""

from __future__ import annotations

import pytest

from almanac.core.errors import InvalidInputError, ReservedKafkaNameError
from almanac.core.kafkanames import (
    DEFAULT_NAMES,
    NAMESPACE_HEADER,
    KafkaNames,
    check_subscription,
    is_reserved_header,
    publish_problems,
    reaches,
)

#: An installation that moved every topic out of ``almanac.*``.
MOVED = KafkaNames(
    trigger_topic="tenant.events", events_topic="ops.runs", notify_topic="ops.notices"
)


@pytest.mark.parametrize(
    ("names", "topic", "reserved"),
    [
        pytest.param(DEFAULT_NAMES, "almanac.triggers", True, id="trigger-topic"),
        pytest.param(DEFAULT_NAMES, "almanac.events", True, id="events-topic"),
        pytest.param(DEFAULT_NAMES, "almanac.anything-else", True, id="almanac-prefix"),
        pytest.param(DEFAULT_NAMES, "almanac_events", True, id="collides-with-almanac.events"),
        pytest.param(DEFAULT_NAMES, "platform.notifications.ingress", True, id="notify-topic"),
        pytest.param(DEFAULT_NAMES, "platform_notifications.ingress", True, id="collides-notify"),
        pytest.param(DEFAULT_NAMES, "reports.daily", False, id="ordinary"),
        pytest.param(DEFAULT_NAMES, "almanacs.events", False, id="prefix-needs-the-dot"),
        pytest.param(DEFAULT_NAMES, "team.almanac.events", False, id="almanac-inside"),
        pytest.param(DEFAULT_NAMES, "Almanac.events", False, id="topics-are-case-sensitive"),
        pytest.param(DEFAULT_NAMES, "platform.notifications", False, id="notify-prefix-only"),
        pytest.param(MOVED, "ops.notices", True, id="configured-notify-topic"),
        pytest.param(MOVED, "ops.runs", True, id="configured-events-topic"),
        pytest.param(MOVED, "tenant.events", True, id="configured-trigger-topic"),
        pytest.param(MOVED, "almanac.events", True, id="prefix-stays-reserved"),
        pytest.param(MOVED, "platform.notifications.ingress", False, id="default-notify-freed"),
    ],
)
def test_reserved_topics(names: KafkaNames, topic: str, reserved: bool) -> None:
    assert names.is_reserved_topic(topic) is reserved


@pytest.mark.parametrize(
    ("header", "reserved"),
    [
        pytest.param(NAMESPACE_HEADER, True, id="namespace-header"),
        pytest.param("Almanac-Namespace", True, id="any-case"),
        pytest.param("ALMANAC-ORG", True, id="upper-case-prefix"),
        pytest.param("almanac-", True, id="bare-prefix"),
        pytest.param("trace-id", False, id="ordinary"),
        pytest.param("almanac", False, id="no-dash"),
        pytest.param("x-almanac-namespace", False, id="prefix-inside"),
    ],
)
def test_reserved_headers(header: str, reserved: bool) -> None:
    assert is_reserved_header(header) is reserved


@pytest.mark.parametrize(
    ("topic", "headers", "fields"),
    [
        pytest.param("reports.daily", {"trace-id": "1"}, [], id="ordinary-topic-and-header"),
        pytest.param(
            "almanac.triggers",
            {NAMESPACE_HEADER: "org-b"},
            ["params.topic", "params.headers.almanac-namespace"],
            id="forged-trigger-for-another-org",
        ),
        pytest.param("platform.notifications.ingress", {}, ["params.topic"], id="forged-notice"),
        pytest.param(
            "reports.daily",
            {"Almanac-Namespace": "org-b", "trace-id": "1"},
            ["params.headers.Almanac-Namespace"],
            id="reserved-header-in-any-case",
        ),
        pytest.param(None, "not-a-map", [], id="wrong-types-are-the-schemas-job"),
    ],
)
def test_publish_problems_name_each_field(
    topic: object, headers: object, fields: list[str]
) -> None:
    found = publish_problems(topic, headers)
    assert [p.field for p in found] == fields
    assert all(isinstance(p, ReservedKafkaNameError) for p in found)


def test_publish_refusals_say_what_is_refused_and_the_fix() -> None:
    topic, header = publish_problems("almanac.triggers", {"almanac-org": "b"}, field="spec.params")
    assert topic.field == "spec.params.topic"
    assert topic.message.startswith("topic 'almanac.triggers' is reserved for Almanac")
    assert topic.message.endswith("; publish to a topic of your own")
    assert header.field == "spec.params.headers.almanac-org"
    assert header.message.startswith("header 'almanac-org' is reserved for Almanac")
    assert header.message.endswith("; rename it, e.g. 'x-org'")
    assert header.code == "reserved_kafka_name"
    assert isinstance(header, InvalidInputError)


@pytest.mark.parametrize(
    ("names", "topic"),
    [
        pytest.param(DEFAULT_NAMES, "almanac.triggers", id="trigger-topic"),
        pytest.param(DEFAULT_NAMES, "tickets", id="ordinary"),
        pytest.param(MOVED, "tenant.events", id="configured-trigger-topic"),
    ],
)
def test_triggers_may_read_their_own_topics_and_the_trigger_topic(
    names: KafkaNames, topic: str
) -> None:
    assert check_subscription(topic, "spec.triggers[0].kafka.topic", names) == topic


@pytest.mark.parametrize(
    ("names", "topic"),
    [
        pytest.param(DEFAULT_NAMES, "almanac.events", id="every-orgs-run-results"),
        pytest.param(DEFAULT_NAMES, "platform.notifications.ingress", id="notify-topic"),
        pytest.param(DEFAULT_NAMES, "almanac_triggers", id="collides-with-trigger-topic"),
        pytest.param(MOVED, "almanac.triggers", id="moved-trigger-topic-is-not-the-default"),
        pytest.param(MOVED, "ops.runs", id="configured-events-topic"),
    ],
)
def test_triggers_may_not_read_almanacs_other_topics(names: KafkaNames, topic: str) -> None:
    with pytest.raises(ReservedKafkaNameError) as caught:
        check_subscription(topic, "spec.triggers[1].cancelOn[0].kafka.topic", names)
    assert caught.value.field == "spec.triggers[1].cancelOn[0].kafka.topic"
    assert caught.value.message.startswith(f"topic {topic!r} is reserved for Almanac")
    assert f"trigger on a topic of your own, or on {names.trigger_topic!r}" in caught.value.message


@pytest.mark.parametrize(
    ("topic", "headers", "target", "reached"),
    [
        pytest.param("almanac.triggers", ["org-a"], "org-a", True, id="trigger-topic-own-ns"),
        pytest.param("almanac.triggers", ["org-a"], "org-b", False, id="trigger-topic-other-ns"),
        pytest.param("almanac.triggers", [], "org-a", False, id="trigger-topic-no-header"),
        pytest.param(
            "almanac.triggers", ["org-a", "org-b"], "org-b", False, id="conflicting-headers"
        ),
        pytest.param("almanac.triggers", ["org-a", "org-a"], "org-a", True, id="repeated-header"),
        pytest.param("tickets", [], "org-a", True, id="own-topic-no-header-reaches-all"),
        pytest.param("tickets", ["org-a"], "org-b", False, id="own-topic-header-confines"),
        pytest.param("almanac.events", [], "org-a", False, id="events-topic-reaches-nobody"),
        pytest.param("almanac.events", ["org-a"], "org-a", False, id="even-with-a-header"),
    ],
)
def test_which_namespaces_a_record_reaches(
    topic: str, headers: list[str], target: str, reached: bool
) -> None:
    assert reaches(topic, headers, target) is reached


def test_a_moved_trigger_topic_needs_the_header_there() -> None:
    assert not reaches("tenant.events", [], "org-a", MOVED)
    assert reaches("tenant.events", ["org-a"], "org-a", MOVED)
    assert not reaches("almanac.triggers", ["org-a"], "org-a", MOVED)


def test_names_come_from_the_settings_blank_meaning_the_default() -> None:
    assert KafkaNames.from_env({}) == DEFAULT_NAMES
    env = {
        "ALMANAC_TRIGGER_TOPIC": " tenant.events ",
        "ALMANAC_EVENTS_TOPIC": "",
        "ALMANAC_NOTIFY_TOPIC": "ops.notices",
    }
    assert KafkaNames.from_env(env) == KafkaNames(
        trigger_topic="tenant.events", events_topic="almanac.events", notify_topic="ops.notices"
    )
