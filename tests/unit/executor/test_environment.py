"""The run's ALMANAC_* variables: parsed once, the bad one named with its fix."""

from __future__ import annotations

import ipaddress
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from almanac.core.kafkanames import KafkaNames
from almanac.executor.environment import parse_run, parse_settings
from almanac.executor.errors import InvalidEnvironmentError

GOOD = {
    "ALMANAC_RUN": "nightly-202601010200",
    "ALMANAC_SCHEDULEDJOB": "nightly",
    "ALMANAC_NAMESPACE": "org-000101",
    "ALMANAC_TEMPLATE": "http",
    "ALMANAC_PARAMS": '{"url": "https://example.com"}',
    "ALMANAC_SLOT": "2026-01-01T02:00:00Z",
    "ALMANAC_ATTEMPT": "2",
    "ALMANAC_TRIGGER": "retry",
}


def test_good_environment_is_parsed() -> None:
    run = parse_run(GOOD | {"ALMANAC_EVENT": '{"id": "e1"}'})
    assert run.params == {"url": "https://example.com"}
    assert run.slot == datetime(2026, 1, 1, 2, tzinfo=UTC)
    assert (run.attempt, run.trigger, run.event) == (2, "retry", {"id": "e1"})
    assert run.log_fields()["scheduledjob"] == "org-000101/nightly"


@pytest.mark.parametrize("name", sorted(GOOD))
def test_missing_variable_is_named(name: str) -> None:
    env = {k: v for k, v in GOOD.items() if k != name}
    with pytest.raises(InvalidEnvironmentError) as caught:
        parse_run(env)
    assert caught.value.field == name
    assert name in caught.value.message


@pytest.mark.parametrize(
    ("name", "value", "hint"),
    [
        pytest.param("ALMANAC_PARAMS", "{url:", "not valid JSON", id="params-not-json"),
        pytest.param("ALMANAC_PARAMS", "[1, 2]", "must be a JSON object", id="params-a-list"),
        pytest.param("ALMANAC_EVENT", '"text"', "must be a JSON object", id="event-a-string"),
        pytest.param("ALMANAC_SLOT", "2026-01-01T02:00:00", "with an offset", id="naive-slot"),
        pytest.param("ALMANAC_SLOT", "tomorrow", "RFC 3339", id="slot-not-a-date"),
        pytest.param("ALMANAC_ATTEMPT", "0", "positive integer", id="attempt-zero"),
        pytest.param("ALMANAC_TRIGGER", "cron", "use one of schedule", id="unknown-trigger"),
    ],
)
def test_malformed_variable_is_named_with_a_fix(name: str, value: str, hint: str) -> None:
    with pytest.raises(InvalidEnvironmentError) as caught:
        parse_run(GOOD | {name: value})
    assert caught.value.field == name
    assert hint in caught.value.message


def test_settings_default_to_the_pod_paths() -> None:
    settings = parse_settings({})
    assert settings.result_path == Path("/dev/termination-log")
    assert settings.secrets_dir == Path("/var/run/almanac/secrets")
    assert settings.deadline == timedelta(hours=1)
    assert settings.allow_cidrs == ()
    assert settings.kafka_names == KafkaNames()


def test_settings_read_overrides() -> None:
    settings = parse_settings(
        {
            "ALMANAC_RESULT_PATH": "/tmp/r.json",
            "ALMANAC_TIMEOUT": "90s",
            "ALMANAC_HTTP_ALLOW_CIDRS": "127.0.0.1/32, fd00::/8",
            "ALMANAC_KAFKA_BOOTSTRAP": "10.244.0.1:9092",
            "ALMANAC_NOTIFY_TOPIC": "ops.notices",
            "ALMANAC_TRIGGER_TOPIC": "",
        }
    )
    assert settings.deadline == timedelta(seconds=90)
    assert settings.allow_cidrs == (
        ipaddress.ip_network("127.0.0.1/32"),
        ipaddress.ip_network("fd00::/8"),
    )
    assert settings.kafka_bootstrap == "10.244.0.1:9092"
    # The operator passes the topic settings even when unset: blank means the default.
    assert settings.kafka_names == KafkaNames(notify_topic="ops.notices")


@pytest.mark.parametrize(
    ("name", "value"),
    [("ALMANAC_HTTP_ALLOW_CIDRS", "10.0.0.0/33"), ("ALMANAC_TIMEOUT", "ten minutes")],
)
def test_bad_setting_is_named(name: str, value: str) -> None:
    with pytest.raises(InvalidEnvironmentError) as caught:
        parse_settings({name: value})
    assert caught.value.field == name


def test_template_policy_joins_the_operator_policy_without_duplicates() -> None:
    template = (ipaddress.ip_network("10.244.0.0/24"), ipaddress.ip_network("127.0.0.1/32"))
    settings = parse_settings({"ALMANAC_HTTP_ALLOW_CIDRS": "127.0.0.1/32"}, template)
    assert [str(n) for n in settings.allow_cidrs] == ["127.0.0.1/32", "10.244.0.0/24"]


@pytest.mark.parametrize(
    ("value", "trace"),
    [
        pytest.param(None, None, id="absent"),
        pytest.param("garbage", None, id="malformed-is-ignored-not-a-failure"),
        pytest.param(
            "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
            "4bf92f3577b34da6a3ce929d0e0e4736",
            id="valid",
        ),
    ],
)
def test_the_trace_context_is_read_and_never_fails_the_run(
    value: str | None, trace: str | None
) -> None:
    run = parse_run(GOOD | ({"TRACEPARENT": value} if value is not None else {}))
    assert (run.trace.trace_id if run.trace else None) == trace
