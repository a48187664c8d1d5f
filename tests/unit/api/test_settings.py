"""Facade settings: defaults, and a malformed variable named in the error."""

from __future__ import annotations

import pytest

from almanac.api.errors import BadRequestError
from almanac.api.settings import ApiSettings, namespace_for
from almanac.core.errors import InvalidInputError


def test_defaults_listen_on_8000_and_map_orgs_to_org_namespaces() -> None:
    settings = ApiSettings.from_env({})
    assert (settings.host, settings.port, settings.create_namespaces) == ("0.0.0.0", 8000, True)
    assert settings.namespace("000101") == "org-000101"
    assert settings.database_url is None
    assert (settings.kafka_bootstrap, settings.trigger_topic) == (None, "almanac.triggers")


def test_variables_override_the_defaults() -> None:
    settings = ApiSettings.from_env(
        {
            "ALMANAC_API_HOST": "127.0.0.1",
            "ALMANAC_API_PORT": "9000",
            "ALMANAC_API_NAMESPACE_PATTERN": "tenant-{org_id}-jobs",
            "ALMANAC_API_CREATE_NAMESPACES": "false",
            "ALMANAC_DATABASE_URL": "postgresql://x/y",
            "ALMANAC_KAFKA_BOOTSTRAP": "10.244.0.1:9092",
            "ALMANAC_TRIGGER_TOPIC": "Team_A.triggers-v2",
        }
    )
    assert settings.port == 9000
    assert settings.namespace("ABC") == "tenant-abc-jobs"
    assert settings.create_namespaces is False
    assert settings.database_url == "postgresql://x/y"
    assert settings.run_env == (("ALMANAC_KAFKA_BOOTSTRAP", "10.244.0.1:9092"),)
    assert settings.kafka_bootstrap == "10.244.0.1:9092"
    assert settings.trigger_topic == "Team_A.triggers-v2"


@pytest.mark.parametrize("bootstrap", ["kafka:9092", "a:1, b:2", "[::1]:9092", "10.244.0.1:65535"])
def test_kafka_bootstrap_lists_of_host_and_port_are_accepted(bootstrap: str) -> None:
    assert ApiSettings.from_env({"ALMANAC_KAFKA_BOOTSTRAP": bootstrap}).kafka_bootstrap == bootstrap


def test_history_is_on_unless_turned_off() -> None:
    assert ApiSettings.from_env({}).history_enabled is True
    off = ApiSettings.from_env({"ALMANAC_API_HISTORY_ENABLED": "false"})
    assert off.history_enabled is False


def test_default_message_topic_is_read_and_unset_by_default() -> None:
    assert ApiSettings.from_env({}).default_message_topic is None
    env = {"ALMANAC_API_DEFAULT_MESSAGE_TOPIC": "jobs.messages"}
    assert ApiSettings.from_env(env).default_message_topic == "jobs.messages"


@pytest.mark.parametrize(
    "topic",
    ["a", "x" * 249, "...", "a.b_c-D9"],
    ids=["one-char", "249-chars", "three-dots", "all-allowed-kinds"],
)
def test_trigger_topic_within_kafka_rules_is_accepted(topic: str) -> None:
    assert ApiSettings.from_env({"ALMANAC_TRIGGER_TOPIC": topic}).trigger_topic == topic


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("ALMANAC_API_PORT", "http"),
        ("ALMANAC_API_PORT", "70000"),
        ("ALMANAC_API_NAMESPACE_PATTERN", "org"),
        ("ALMANAC_API_NAMESPACE_PATTERN", "Org_{org_id}"),
        ("ALMANAC_API_CREATE_NAMESPACES", "maybe"),
        ("ALMANAC_KAFKA_BOOTSTRAP", "kafka"),
        ("ALMANAC_KAFKA_BOOTSTRAP", "127.0.0.1:abc"),
        ("ALMANAC_KAFKA_BOOTSTRAP", "127.0.0.1:99999"),
        ("ALMANAC_KAFKA_BOOTSTRAP", "a:9092,,b:9092"),
        ("ALMANAC_TRIGGER_TOPIC", "."),
        ("ALMANAC_TRIGGER_TOPIC", ".."),
        ("ALMANAC_TRIGGER_TOPIC", "x" * 250),
        ("ALMANAC_TRIGGER_TOPIC", "my topic"),
        ("ALMANAC_TRIGGER_TOPIC", "triggers/a"),
        ("ALMANAC_TRIGGER_TOPIC", "trigger\u00e9"),
        ("ALMANAC_API_DEFAULT_MESSAGE_TOPIC", "my topic"),
        ("ALMANAC_API_DEFAULT_MESSAGE_TOPIC", " "),
        ("ALMANAC_API_HISTORY_ENABLED", "maybe"),
    ],
)
def test_malformed_variable_is_refused_by_name(name: str, value: str) -> None:
    with pytest.raises(InvalidInputError) as caught:
        ApiSettings.from_env({name: value})
    assert caught.value.field == name
    assert name in caught.value.message


@pytest.mark.parametrize("org_id", ["a_b", "x" * 70, "a.b", "1-"])
def test_org_id_that_cannot_name_a_namespace_is_a_bad_identity(org_id: str) -> None:
    with pytest.raises(BadRequestError) as caught:
        namespace_for("org-{org_id}", org_id)
    assert caught.value.field == "x-rh-identity.identity.org_id"


def test_role_lists_and_gateway_secret_are_read_from_the_environment() -> None:
    settings = ApiSettings.from_env(
        {
            "ALMANAC_API_ADMIN_USERS": " ann, ,bob ",
            "ALMANAC_API_READONLY_USERS": "auditor",
            "ALMANAC_API_GATEWAY_SECRET": "0123456789abcdef",
        }
    )
    assert settings.admin_users == {"ann", "bob"}
    assert settings.readonly_users == {"auditor"}
    assert settings.gateway_secret == "0123456789abcdef"
    assert "0123456789abcdef" not in repr(settings)


@pytest.mark.parametrize("secret", ["short", " padded-secret-value-x "], ids=["short", "spaces"])
def test_a_weak_or_padded_gateway_secret_stops_start_up_naming_the_variable(secret: str) -> None:
    with pytest.raises(InvalidInputError) as refused:
        ApiSettings.from_env({"ALMANAC_API_GATEWAY_SECRET": secret})
    assert refused.value.field == "ALMANAC_API_GATEWAY_SECRET"
