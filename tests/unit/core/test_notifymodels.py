"""``spec.notifications`` at the door: what every writer's check refuses, naming the field
and the fix, and what it makes admission ask of the writer (the Secrets it reads)."""

from __future__ import annotations

from typing import Any

import pytest

from almanac.core.errors import InvalidSpecError
from almanac.core.powers import Power, powers_of
from almanac.core.specs import check_spec
from almanac.core.topicpolicy import TopicAllowList, topic_problems


def spec(*entries: dict[str, Any]) -> dict[str, Any]:
    return {"template": "command", "schedule": {"every": "5s"}, "notifications": list(entries)}


def refusals(data: dict[str, Any]) -> list[tuple[str, str]]:
    with pytest.raises(InvalidSpecError) as caught:
        check_spec(data)
    return [(p.field, p.message) for p in caught.value.problems]


HOOK = {"url": "https://hooks.example.com/x"}


@pytest.mark.parametrize(
    ("entry", "field", "says"),
    [
        ({"on": ["Failed"]}, "spec.notifications[0]", "exactly one of email, webhook or kafka"),
        (
            {"on": ["Failed"], "email": {"to": ["a@example.com"]}, "webhook": HOOK},
            "spec.notifications[0]",
            "one entry per target",
        ),
        ({"on": [], "webhook": HOOK}, "spec.notifications[0].on", ""),
        ({"on": ["Sometimes"], "webhook": HOOK}, "spec.notifications[0].on[0]", ""),
        ({"on": ["Failed", "Failed"], "webhook": HOOK}, "spec.notifications[0].on", "twice"),
        ({True: ["Failed"], "webhook": HOOK}, "spec.notifications[0].on", 'quote the key: "on"'),
        (
            {"on": ["Failed"], "email": {"to": ["Ops <ops@example.com>"]}},
            "spec.notifications[0].email.to[0]",
            "one address per list item",
        ),
        (
            {"on": ["Failed"], "email": {"to": [f"u{i}@example.com" for i in range(21)]}},
            "spec.notifications[0].email.to",
            "",
        ),
        (
            {"on": ["Failed"], "webhook": {"url": "ftp://example.com/x"}},
            "spec.notifications[0].webhook.url",
            "",
        ),
        (
            {"on": ["Failed"], "webhook": {"url": "https://user:pw@hooks.example.com/"}},
            "spec.notifications[0].webhook.url",
            "must not carry credentials",
        ),
        (
            {"on": ["Failed"], "webhook": {}},
            "spec.notifications[0].webhook.url",
            "exactly one of url or urlFrom",
        ),
        (
            {
                "on": ["Failed"],
                "webhook": HOOK
                | {"secretHeader": {"name": "Host", "secretKeyRef": {"name": "s", "key": "k"}}},
            },
            "spec.notifications[0].webhook.secretHeader.name",
            "set by Almanac",
        ),
        (
            {"on": ["Failed"], "webhook": HOOK | {"secretHeader": {"name": "X-T", "value": "lit"}}},
            "spec.notifications[0].webhook.secretHeader.value",
            "unknown field",
        ),
        (
            {"on": ["Failed"], "kafka": {"topic": "almanac.events"}},
            "spec.notifications[0].kafka.topic",
            "reserved for Almanac",
        ),
    ],
    ids=[
        "no-target",
        "two-targets",
        "no-outcome",
        "unknown-outcome",
        "outcome-twice",
        "yaml-bare-on",
        "named-address",
        "too-many-recipients",
        "not-http",
        "credentials-in-url",
        "webhook-without-url",
        "secret-header-replacing-host",
        "literal-secret-value",
        "reserved-topic",
    ],
)
def test_a_bad_notification_is_refused_naming_the_field(
    entry: dict[str, Any], field: str, says: str
) -> None:
    found = refusals(spec(entry))
    assert any(f == field and says in m for f, m in found), found


def test_more_than_eight_notifications_are_refused() -> None:
    entry = {"on": ["Failed"], "webhook": HOOK}
    assert refusals(spec(*[entry] * 9))[0][0] == "spec.notifications"


def test_a_good_list_passes() -> None:
    check_spec(
        spec(
            {"on": ["Failed", "Recovered"], "email": {"to": ["ops@example.com"]}},
            {"on": ["DeadLettered"], "webhook": {"urlFrom": {"name": "chat", "key": "url"}}},
            {"on": ["Succeeded"], "kafka": {"topic": "team-a.results"}},
        )
    )


def test_a_kafka_target_is_under_the_namespaces_topic_allow_list() -> None:
    data = spec({"on": ["Failed"], "kafka": {"topic": "team-b.alerts"}})
    [problem] = topic_problems(data, TopicAllowList(("team-a.*",)))
    assert problem.field == "spec.notifications[0].kafka.topic"
    assert topic_problems(data, TopicAllowList(("team-b.*",))) == []


def test_the_secrets_a_webhook_reads_are_powers_admission_checks() -> None:
    parsed = check_spec(
        spec(
            {
                "on": ["Failed"],
                "webhook": {
                    "urlFrom": {"name": "chat", "key": "url"},
                    "secretHeader": {"name": "X-T", "secretKeyRef": {"name": "tok", "key": "t"}},
                },
            }
        )
    )
    assert powers_of(parsed) == [
        Power("get", "secrets", "chat", "spec.notifications[0].webhook.urlFrom"),
        Power("get", "secrets", "tok", "spec.notifications[0].webhook.secretHeader.secretKeyRef"),
    ]
