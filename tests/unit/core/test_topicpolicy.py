"""A namespace's Kafka topic allow-list: names and prefixes, every topic a spec names,
and the refusals (one parser for webhook, facade, operator and run)."""

from __future__ import annotations

from typing import Any

import pytest

from almanac.core.errors import InvalidInputError
from almanac.core.namespaces import NamespacePolicy
from almanac.core.topicpolicy import ANY_TOPIC, TopicAllowList, spec_topics, topic_problems


@pytest.mark.parametrize(
    ("text", "topic", "allowed"),
    [
        pytest.param(None, "anything", True, id="no-annotation-allows-all"),
        pytest.param("", "anything", False, id="empty-allows-none"),
        pytest.param("orders.*", "orders.created", True, id="prefix"),
        pytest.param("orders.*", "orders", False, id="prefix-needs-its-dot"),
        pytest.param("orders*", "orders", True, id="bare-prefix"),
        pytest.param(" tickets , billing ", "billing", True, id="names-trimmed"),
        pytest.param("tickets", "tickets.v2", False, id="a-name-is-exact"),
    ],
)
def test_which_topics_a_list_allows(text: str | None, topic: str, allowed: bool) -> None:
    assert TopicAllowList.parse(text).allows(topic) is allowed


@pytest.mark.parametrize("text", ["bad topic", "or*ders", "a,b/c", ",".join(["t"] * 257)])
def test_a_malformed_list_is_refused_naming_the_annotation(text: str) -> None:
    with pytest.raises(InvalidInputError) as caught:
        TopicAllowList.parse(text)
    assert caught.value.field == "almanac.dev/kafka-topics"


def message(topic: Any, **extra: Any) -> dict[str, Any]:
    return {"template": "message", "params": {"topic": topic}, **extra}


def test_every_topic_a_spec_names_with_its_field() -> None:
    spec = message(
        "reports",
        triggers=[
            {"kafka": {"topic": "tickets"}, "cancelOn": [{"kafka": {"topic": "closed"}}]},
            {"after": {"scheduledJob": "x"}},
            "not a trigger",
        ],
    )
    assert spec_topics(spec) == [
        ("spec.params.topic", "reports"),
        ("spec.triggers[0].kafka.topic", "tickets"),
        ("spec.triggers[0].cancelOn[0].kafka.topic", "closed"),
    ]
    assert spec_topics({"template": "http", "params": {"topic": "x"}}) == []
    assert spec_topics(message(42)) == []  # the schema's to refuse


def test_topic_problems_name_each_field_and_the_list() -> None:
    allowed = TopicAllowList.parse("reports.*")
    spec = message("payroll", triggers=[{"kafka": {"topic": "reports.daily"}}])
    [problem] = topic_problems(spec, allowed)
    assert problem.field == "spec.params.topic"
    assert "allows: reports.*" in problem.message
    assert topic_problems(spec, ANY_TOPIC) == []


def test_a_namespace_policy_reads_label_and_annotation_and_fails_closed() -> None:
    policy = NamespacePolicy.from_metadata(
        {
            "labels": {"almanac.dev/org-id": "42"},
            "annotations": {"almanac.dev/kafka-topics": "reports.*"},
        }
    )
    assert (policy.org_id, policy.topics.text(), policy.problem) == ("42", "reports.*", None)
    assert NamespacePolicy.from_metadata(None) == NamespacePolicy()
    broken = NamespacePolicy.from_metadata({"annotations": {"almanac.dev/kafka-topics": "a b"}})
    assert broken.problem is not None
    assert not broken.topics.allows("anything")
