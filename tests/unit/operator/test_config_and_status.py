"""Operator settings from the environment, and the conditions its status carries."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from almanac.core.errors import InvalidInputError
from almanac.core.snapshot import Snapshot
from almanac.core.statuscompose import compose_status
from almanac.core.templates import JobTemplateSpec
from almanac.operator.config import OperatorConfig
from almanac.operator.observability import Metrics
from almanac.operator.scheduler import Scheduler
from almanac.operator.tracked import Tracked

NOW = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)


def test_settings_come_from_the_environment_with_defaults() -> None:
    config = OperatorConfig.from_env({"ALMANAC_WATCH_NAMESPACES": "a, b,", "POD_NAME": "op-0"})
    assert config.namespaces == ("a", "b")
    assert config.identity == "op-0"
    assert config.metrics_port == 8080
    assert config.log_level == "info"
    assert dict(config.run_env) == {
        "ALMANAC_KAFKA_BOOTSTRAP": "",
        "ALMANAC_HTTP_ALLOW_CIDRS": "",
        "ALMANAC_TRIGGER_TOPIC": "",
        "ALMANAC_EVENTS_TOPIC": "",
        "ALMANAC_NOTIFY_TOPIC": "",
    }
    assert config.webhook_trusted_users == ()


def test_trusted_webhook_users_are_a_comma_separated_list_of_printable_names() -> None:
    env = {"ALMANAC_WEBHOOK_TRUSTED_USERS": "system:serviceaccount:a:api, almanac-facade,"}
    config = OperatorConfig.from_env(env)
    assert config.webhook_trusted_users == ("system:serviceaccount:a:api", "almanac-facade")
    with pytest.raises(InvalidInputError) as refused:
        OperatorConfig.from_env({"ALMANAC_WEBHOOK_TRUSTED_USERS": "api,bad\x07name"})
    assert refused.value.field == "ALMANAC_WEBHOOK_TRUSTED_USERS"


def test_an_unknown_log_level_names_the_variable_and_the_choices() -> None:
    assert OperatorConfig.from_env({"ALMANAC_LOG_LEVEL": "debug"}).log_level == "debug"
    with pytest.raises(InvalidInputError) as refused:
        OperatorConfig.from_env({"ALMANAC_LOG_LEVEL": "loud"})
    assert refused.value.field == "ALMANAC_LOG_LEVEL"
    assert "info, debug, warning, error" in str(refused.value)


@pytest.mark.parametrize("value", ["eighty", "-1", "70000"])
def test_a_malformed_port_names_the_variable(value: str) -> None:
    with pytest.raises(InvalidInputError) as refused:
        OperatorConfig.from_env({"ALMANAC_METRICS_PORT": value})
    assert refused.value.field == "ALMANAC_METRICS_PORT"
    assert "0 to 65535" in str(refused.value)


def test_run_image_pull_secrets_reach_the_built_in_templates_only() -> None:
    config = OperatorConfig.from_env({"ALMANAC_RUN_IMAGE_PULL_SECRETS": "reg-a, reg-b,"})
    assert config.run_image_pull_secrets == ("reg-a", "reg-b")
    scheduler = Scheduler(
        None,  # type: ignore[arg-type]
        Metrics(),
        image="registry.example/almanac:1",
        pull_secrets=config.run_image_pull_secrets,
        clock=lambda: NOW,
    )
    tracked = Tracked.from_body(body({"template": "command", "schedule": {"every": "1m"}}))
    template = scheduler.registry.template(tracked)
    assert template is not None
    assert [s.name for s in template.image_pull_secrets or ()] == ["reg-a", "reg-b"]
    installed = JobTemplateSpec(image="registry.example/mine:2")
    scheduler.registry.template_event("", "command", installed)
    assert scheduler.registry.template(tracked) == installed


def body(spec: dict[str, Any], annotations: dict[str, str] | None = None) -> dict[str, Any]:
    return {
        "metadata": {
            "namespace": "ns",
            "name": "job",
            "uid": "u1",
            "generation": 2,
            "resourceVersion": "7",
            "creationTimestamp": "2026-11-23T11:00:00Z",
            "annotations": annotations or {},
        },
        "spec": spec,
    }


def snapshot_of(tracked: Tracked) -> Snapshot:
    return tracked.snapshot(
        template=None, held=frozenset(), degraded=None, event_record_window=timedelta(0)
    )


def conditions(status: dict[str, Any]) -> dict[str, tuple[str, str]]:
    return {c["type"]: (c["status"], c["reason"]) for c in status["conditions"]}


def test_invalid_spec_is_a_condition_with_the_engines_message() -> None:
    tracked = Tracked.from_body(body({"template": "command", "schedule": {"cron": "0 0 30 2 *"}}))
    assert tracked.error is not None
    status = compose_status(snapshot_of(tracked), NOW, invalid=tracked.error)
    assert conditions(status)["InvalidSpec"] == ("True", "InvalidSpec")
    assert conditions(status)["Ready"] == ("False", "InvalidSpec")
    assert "never fires" in status["conditions"][0]["message"]


def test_suspended_job_says_why_from_its_annotation() -> None:
    tracked = Tracked.from_body(
        body(
            {"template": "command", "schedule": {"every": "1m"}, "suspend": True},
            {"almanac.dev/suspend-reason": "quarter-end freeze"},
        )
    )
    status = compose_status(snapshot_of(tracked), NOW, summary="every 1m")
    assert conditions(status)["Suspended"] == ("True", "Suspended")
    ready = next(c for c in status["conditions"] if c["type"] == "Ready")
    assert (ready["status"], ready["message"]) == ("False", "quarter-end freeze")


def test_condition_keeps_its_transition_time_while_unchanged() -> None:
    tracked = Tracked.from_body(body({"template": "command", "schedule": {"every": "1m"}}))
    first = compose_status(snapshot_of(tracked), NOW)
    tracked.refresh(body({"template": "command", "schedule": {"every": "1m"}}) | {"status": first})
    later = compose_status(snapshot_of(tracked), datetime(2026, 11, 23, 13, 0, tzinfo=UTC))
    assert (
        later["conditions"][0]["lastTransitionTime"] == first["conditions"][0]["lastTransitionTime"]
    )
