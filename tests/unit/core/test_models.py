"""Spec models: defaults, refusals with field paths and fixes, frozen values, manifests."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import BaseModel, ValidationError

from almanac.core import (
    InvalidSpecError,
    JobTemplateSpec,
    OverlapPolicy,
    ScheduledJobStatus,
    models,
    parse_scheduled_job,
    parse_spec,
    podtemplate,
    status,
    templates,
)


def problems(data: dict[str, Any]) -> list[tuple[str, str]]:
    with pytest.raises(InvalidSpecError) as caught:
        parse_spec(data)
    assert caught.value.code == "invalid_spec"
    return [(p.field, p.code) for p in caught.value.problems]


def test_defaults_match_the_contract() -> None:
    spec = parse_spec({"template": "export", "schedule": {"cron": "0 2 * * *"}})
    assert spec.overlap_policy is OverlapPolicy.FORBID
    assert (spec.catch_up.window, spec.catch_up.max_runs) == ("1h", 1)
    assert spec.retry.max_attempts == 1
    assert (spec.history.successful_jobs, spec.history.failed_jobs) == (3, 5)
    assert spec.schedule is not None
    assert spec.schedule.time_zone == "UTC"
    assert spec.suspend is False
    assert spec.params == {}


def test_full_spec_round_trips_in_camel_case() -> None:
    data = {
        "template": "export",
        "params": {"format": "csv", "sources": [{"application": "inventory"}]},
        "schedule": {
            "cron": ["0 2 * * *", "0 14 * * MON"],
            "timeZone": "Europe/Berlin",
            "jitter": "30s",
            "maxRuns": 10,
        },
        "triggers": [
            {
                "name": "escalate",
                "kafka": {"topic": "tickets", "filter": "true", "key": "k"},
                "delay": "48h",
                "cancelOn": [{"kafka": {"topic": "tickets"}}],
                "params": {"ticket": "event.ticket"},
            },
            {"after": {"scheduledJob": "nightly-export", "result": "Succeeded"}},
        ],
        "overlapPolicy": "BufferOne",
        "catchUp": {"window": "2h", "maxRuns": 10},
        "retry": {"maxAttempts": 3, "backoff": {"initial": "10s", "factor": 2, "max": "10m"}},
        "timeout": "15m",
        "history": {"successfulJobs": 1, "failedJobs": 1},
        "podTemplate": {
            "serviceAccountName": "runner",
            "resources": {"requests": {"cpu": "100m", "memory": "64Mi"}, "limits": {"cpu": 1}},
            "env": [{"name": "TOKEN", "valueFrom": {"secretKeyRef": {"name": "s", "key": "t"}}}],
            "envFrom": [{"secretRef": {"name": "creds"}}],
        },
    }
    spec = parse_spec(data)
    dumped = spec.model_dump(exclude_none=True, mode="json")
    assert dumped["schedule"]["timeZone"] == "Europe/Berlin"
    assert dumped["podTemplate"]["envFrom"] == [{"secretRef": {"name": "creds"}}]
    assert parse_spec(dumped) == spec


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        pytest.param(
            {"template": "x", "schedule": {"cron": "0 0 * * *"}, "sheduel": 1},
            [("spec.sheduel", "invalid_input")],
            id="typo-refused",
        ),
        pytest.param(
            {"schedule": {"cron": "0 0 * * *"}},
            [("spec.template", "invalid_input")],
            id="template-missing",
        ),
        pytest.param(
            {"template": "x"}, [("spec", "invalid_schedule")], id="no-schedule-no-triggers"
        ),
        pytest.param(
            {"template": "x", "triggers": []}, [("spec", "invalid_schedule")], id="empty-triggers"
        ),
        pytest.param(
            {"template": "x", "schedule": {"cron": ["0 0 * * *", "61 * * * *"]}},
            [("spec.schedule.cron[1]", "invalid_cron")],
            id="second-cron-line",
        ),
        pytest.param(
            {"template": "x", "schedule": {"every": "1h"}, "timeout": "0s"},
            [("spec.timeout", "invalid_duration")],
            id="zero-timeout",
        ),
        pytest.param(
            {
                "template": "x",
                "schedule": {"every": "1h"},
                "retry": {"backoff": {"initial": "soon"}},
            },
            [("spec.retry.backoff.initial", "invalid_duration")],
            id="bad-backoff",
        ),
        pytest.param(
            {"template": "x", "schedule": {"every": "1h"}, "catchUp": {"window": "-1h"}},
            [("spec.catchUp.window", "invalid_duration")],
            id="negative-window",
        ),
        pytest.param(
            {"template": "x", "schedule": {"every": "1h"}, "overlapPolicy": "Queue"},
            [("spec.overlapPolicy", "invalid_input")],
            id="unknown-policy",
        ),
        pytest.param(
            {
                "template": "x",
                "triggers": [{"kafka": {"topic": "t"}, "after": {"scheduledJob": "y"}}],
            },
            [("spec.triggers[0]", "invalid_input")],
            id="trigger-two-sources",
        ),
        pytest.param(
            {
                "template": "x",
                "triggers": [{"kafka": {"topic": "t"}, "delay": "1s", "sequence": ["1s"]}],
            },
            [("spec.triggers[0]", "invalid_input")],
            id="delay-and-sequence",
        ),
        pytest.param(
            {"template": "Bad_Name", "schedule": {"every": "1h"}},
            [("spec.template", "invalid_input")],
            id="template-not-dns",
        ),
        pytest.param(
            {"template": "x", "schedule": {"every": "1h"}, "retry": {"maxAttempts": 0}},
            [("spec.retry.maxAttempts", "invalid_input")],
            id="zero-attempts",
        ),
    ],
)
def test_invalid_specs_report_field_paths(
    data: dict[str, Any], expected: list[tuple[str, str]]
) -> None:
    assert problems(data) == expected


def test_messages_name_the_fix() -> None:
    with pytest.raises(InvalidSpecError) as caught:
        parse_spec({"template": "x", "schedule": {"cron": "0 0 * * *"}, "sheduel": 1})
    assert "remove it or fix its spelling" in str(caught.value)


def test_specs_are_frozen() -> None:
    spec = parse_spec({"template": "x", "schedule": {"every": "1h"}})
    with pytest.raises(ValidationError):
        spec.suspend = True  # type: ignore[misc]


def test_every_field_is_described() -> None:
    modules = (models, podtemplate, status, templates)
    classes = [
        obj
        for module in modules
        for obj in vars(module).values()
        if isinstance(obj, type)
        and issubclass(obj, BaseModel)
        and obj.__module__ == module.__name__
    ]
    assert classes
    for cls in classes:
        for name, field in cls.model_fields.items():
            assert field.description, f"{cls.__name__}.{name} has no description"


def test_scheduled_job_manifest_parses_and_ignores_unknown_status_keys() -> None:
    job = parse_scheduled_job(
        {
            "apiVersion": "almanac.dev/v1alpha1",
            "kind": "ScheduledJob",
            "metadata": {
                "name": "nightly",
                "namespace": "org-1",
                "uid": "u",
                "creationTimestamp": "2026-01-01T00:00:00Z",
            },
            "spec": {"template": "export", "schedule": {"cron": "0 2 * * *"}},
            "status": {
                "activeCount": 0,
                "futureField": 1,
                "counts": {"succeeded": 1, "failed": 0, "skipped": 2},
            },
        }
    )
    assert job.metadata.name == "nightly"
    assert job.status is not None
    assert job.status.counts is not None
    assert job.status.counts.skipped == 2


def test_manifest_errors_carry_full_paths() -> None:
    with pytest.raises(InvalidSpecError) as caught:
        parse_scheduled_job(
            {
                "apiVersion": "almanac.dev/v1alpha1",
                "kind": "ScheduledJob",
                "metadata": {"name": "n"},
                "spec": {"template": "x", "schedule": {"every": "fast"}},
            }
        )
    assert [p.field for p in caught.value.problems] == ["spec.schedule.every"]


def test_status_and_template_models_validate() -> None:
    status = ScheduledJobStatus.model_validate(
        {
            "conditions": [
                {
                    "type": "Ready",
                    "status": "True",
                    "reason": "Scheduled",
                    "lastTransitionTime": "2026-01-01T00:00:00Z",
                }
            ],
            "active": [
                {
                    "job": "j-202601010000",
                    "slot": "2026-01-01T00:00:00Z",
                    "attempt": 1,
                    "trigger": "schedule",
                }
            ],
            "lastRun": {
                "job": "j",
                "slot": "2026-01-01T00:00:00Z",
                "trigger": "manual",
                "phase": "Succeeded",
            },
        }
    )
    assert status.active is not None
    assert status.active[0].attempt == 1
    template = JobTemplateSpec.model_validate(
        {
            "image": "localhost/almanac:dev",
            "command": ["python", "-m", "x"],
            "paramsSchema": {"type": "object"},
            "allowedNamespaces": ["org-1"],
        }
    )
    assert template.params_schema == {"type": "object"}
