"""Notification settings from the environment: defaults, switches, clear errors."""

from __future__ import annotations

import pytest

from almanac.core.errors import InvalidInputError
from almanac.notify import NotifySettings


def test_defaults_follow_the_bootstrap() -> None:
    on = NotifySettings.from_env({"ALMANAC_KAFKA_BOOTSTRAP": "10.244.0.1:9092"})
    off = NotifySettings.from_env({})

    assert on.enabled
    assert on.notify_topic == "platform.notifications.ingress"
    assert on.events_topic == "almanac.events"
    assert not off.enabled


def test_topics_and_switch_are_read() -> None:
    settings = NotifySettings.from_env(
        {
            "ALMANAC_KAFKA_BOOTSTRAP": "a:1",
            "ALMANAC_NOTIFY_ENABLED": "false",
            "ALMANAC_NOTIFY_TOPIC": "n.t",
            "ALMANAC_EVENTS_TOPIC": "e.t",
        }
    )

    assert (settings.enabled, settings.notify_topic, settings.events_topic) == (False, "n.t", "e.t")


@pytest.mark.parametrize(
    ("env", "variable"),
    [
        pytest.param(
            {"ALMANAC_NOTIFY_ENABLED": "true"}, "ALMANAC_KAFKA_BOOTSTRAP", id="no-bootstrap"
        ),
        pytest.param(
            {"ALMANAC_NOTIFY_ENABLED": "maybe"}, "ALMANAC_NOTIFY_ENABLED", id="not-a-bool"
        ),
        pytest.param(
            {"ALMANAC_KAFKA_BOOTSTRAP": "a:1", "ALMANAC_EVENTS_TOPIC": "bad topic!"},
            "ALMANAC_EVENTS_TOPIC",
            id="bad-topic",
        ),
    ],
)
def test_bad_settings_name_the_variable(env: dict[str, str], variable: str) -> None:
    with pytest.raises(InvalidInputError) as caught:
        NotifySettings.from_env(env)

    assert caught.value.field == variable
    assert variable in str(caught.value)
