"""Job JSON ↔ ScheduledJob: what REST callers send becomes a valid spec, and any
ScheduledJob (also one written with kubectl) reads back as the seed's job JSON."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

import pytest

from almanac.api.errors import BadRequestError, rest_field
from almanac.api.mapping import (
    ANNOTATION_CREATED_BY,
    ANNOTATION_DISPLAY_NAME,
    ANNOTATION_UPDATED_BY,
    LABEL_ORG_ID,
    apply_changes,
    job_status,
    job_view,
    new_manifest,
    phases_for,
    refuse_past_instant,
    run_view,
    schedule_text,
    slug,
    template_for,
    type_for,
)
from almanac.core.kafkanames import KafkaNames
from almanac.core.status import RunPhase
from almanac.history.records import TIMEOUT_REASON, RunRecord
from almanac.history.states import RunState

SEED_BODY: dict[str, Any] = {
    "name": "Daily Inventory Export",
    "schedule": "0 0 * * *",
    "type": "export",
    "payload": {"name": "Inventory Export", "format": "csv", "sources": []},
}


def _new(**changes: Any) -> dict[str, Any]:
    return new_manifest(
        SEED_BODY | changes, namespace="org-1", org_id="1", actor="jdoe", suffix="ab12c"
    )


def _stored(body: dict[str, Any], **status: Any) -> dict[str, Any]:
    meta = body["metadata"] | {"uid": "u-1", "creationTimestamp": "2026-11-01T00:00:00Z"}
    return body | {"metadata": meta, "status": status}


def test_seed_body_becomes_a_scheduled_job_in_the_org_namespace() -> None:
    body = _new()
    assert body["metadata"]["name"] == "daily-inventory-export-ab12c"
    assert body["metadata"]["namespace"] == "org-1"
    assert body["metadata"]["labels"] == {LABEL_ORG_ID: "1"}
    assert body["metadata"]["annotations"] == {
        ANNOTATION_CREATED_BY: "jdoe",
        ANNOTATION_UPDATED_BY: "jdoe",
        ANNOTATION_DISPLAY_NAME: "Daily Inventory Export",
    }
    assert body["spec"] == {
        "template": "export",
        "params": SEED_BODY["payload"],
        "schedule": {"cron": "0 0 * * *"},
    }


def test_stored_job_reads_back_as_the_seed_job_json() -> None:
    job = job_view(_stored(_new()))
    assert job.model_dump(include={"id", "name", "schedule", "type", "payload", "status"}) == {
        "id": "u-1",
        "name": "Daily Inventory Export",
        "schedule": "0 0 * * *",
        "type": "export",
        "payload": SEED_BODY["payload"],
        "status": "scheduled",
    }
    assert job.last_run is None
    assert job.resource_name == "daily-inventory-export-ab12c"


@pytest.mark.parametrize(
    ("schedule", "spec"),
    [
        ("*/10 * * * *", {"cron": "*/10 * * * *"}),
        ("@daily", {"cron": "@daily"}),
        ("@every 90s", {"every": "90s"}),
        ("@at 2030-01-01T00:00:00Z", {"at": "2030-01-01T00:00:00Z"}),
        (["0 9 * * MON", "0 17 * * FRI"], {"cron": ["0 9 * * MON", "0 17 * * FRI"]}),
    ],
    ids=["cron", "macro", "every", "at", "cron-list"],
)
def test_schedule_forms_round_trip(schedule: str | list[str], spec: dict[str, Any]) -> None:
    body = _new(schedule=schedule)
    assert body["spec"]["schedule"] == spec
    assert schedule_text(body["spec"]["schedule"]) == schedule


def test_timezone_goes_into_the_schedule() -> None:
    body = _new(timezone="Europe/Berlin")
    assert body["spec"]["schedule"] == {"cron": "0 0 * * *", "timeZone": "Europe/Berlin"}
    assert job_view(_stored(body)).timezone == "Europe/Berlin"


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"schedule": "0 25 * * *"}, "schedule"),
        ({"schedule": "0 0 30 2 *"}, "schedule"),
        ({"schedule": "@every 0s"}, "schedule"),
        ({"timezone": "Mars/Olympus"}, "timezone"),
        ({"type": "Not A Template"}, "type"),
    ],
    ids=["hour-out-of-range", "never-fires", "zero-interval", "unknown-zone", "bad-type"],
)
def test_invalid_job_is_a_400_naming_the_job_field(changes: dict[str, Any], field: str) -> None:
    with pytest.raises(BadRequestError) as caught:
        _new(**changes)
    assert caught.value.problems[0].field == field
    assert caught.value.status == 400


def test_edit_of_a_kubectl_job_keeps_what_the_job_json_does_not_carry() -> None:
    stored: dict[str, Any] = {
        "metadata": {"name": "nightly", "uid": "u-2", "annotations": {}},
        "spec": {
            "template": "command",
            "params": {"command": ["true"]},
            "schedule": {"every": "1h", "phase": "5m", "maxRuns": 3, "timeZone": "UTC"},
            "overlapPolicy": "Allow",
        },
    }
    every = apply_changes(stored, {"schedule": "@every 2h"}, "ana")["spec"]
    assert every["schedule"] == {"every": "2h", "phase": "5m", "maxRuns": 3, "timeZone": "UTC"}
    cron = apply_changes(stored, {"schedule": "0 1 * * *", "status": "paused"}, "ana")
    assert cron["spec"]["schedule"] == {"cron": "0 1 * * *", "maxRuns": 3, "timeZone": "UTC"}
    assert cron["spec"]["overlapPolicy"] == "Allow"
    assert cron["spec"]["suspend"] is True
    assert cron["metadata"]["annotations"][ANNOTATION_UPDATED_BY] == "ana"
    assert stored["spec"]["schedule"]["every"] == "1h", "the input is not modified"


def test_an_edit_is_checked_as_the_webhook_checks_since_facade_writes_skip_it() -> None:
    """Triggers are not in the job JSON, yet a stored bad one (written before the webhook
    existed) is refused on any REST edit: the facade runs the webhook's whole check."""
    stored: dict[str, Any] = {
        "metadata": {"name": "on-ticket", "uid": "u-4", "annotations": {}},
        "spec": {
            "template": "command",
            "triggers": [{"kafka": {"topic": "tickets", "filter": "event.type == "}}],
        },
    }
    with pytest.raises(BadRequestError) as refused:
        apply_changes(stored, {"status": "paused"}, "ana")
    assert refused.value.field == "triggers[0].kafka.filter"


def test_kubectl_job_without_display_name_is_named_by_its_object_name() -> None:
    job = job_view(
        {
            "metadata": {"name": "hello", "uid": "u-3"},
            "spec": {"template": "http", "schedule": {"every": "30s"}},
        }
    )
    assert (job.name, job.type, job.schedule, job.timezone) == (
        "hello",
        "http_request",
        "@every 30s",
        "UTC",
    )


@pytest.mark.parametrize(
    ("spec", "status", "expected"),
    [
        ({}, {}, "scheduled"),
        ({"suspend": True}, {"active": [{"job": "x"}]}, "paused"),
        ({}, {"active": [{"job": "x", "slot": "2026-11-01T00:00:00Z"}]}, "running"),
        ({}, {"lastRun": {"phase": "Failed"}}, "failed"),
        ({}, {"conditions": [{"type": "InvalidSpec", "status": "True"}]}, "failed"),
        ({}, {"conditions": [{"type": "Complete", "status": "True"}]}, "completed"),
        ({}, {"lastRun": {"phase": "Succeeded"}}, "scheduled"),
    ],
    ids=["new", "suspended", "active", "last-failed", "invalid", "complete", "last-ok"],
)
def test_job_status_follows_suspend_and_the_operator_status(
    spec: dict[str, Any], status: dict[str, Any], expected: str
) -> None:
    assert job_status({"spec": spec, "status": status}) == expected


def test_last_run_is_the_latest_start_of_active_and_finished_runs() -> None:
    job = job_view(
        {
            "metadata": {"name": "x", "uid": "u"},
            "spec": {"template": "command"},
            "status": {
                "lastRun": {"startTime": "2026-11-01T10:00:00Z", "slot": "2026-11-01T10:00:00Z"},
                "active": [{"slot": "2026-11-01T11:00:00Z", "startTime": "2026-11-01T11:00:01Z"}],
            },
        }
    )
    assert job.last_run == datetime(2026, 11, 1, 11, 0, 1, tzinfo=UTC)


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("Daily Inventory Export", "daily-inventory-export-x1"),
        ("  ¡¿!  ", "job-x1"),
        ("A" * 80, "a" * 40 + "-x1"),
        ("Ünïcode -- name", "n-code-name-x1"),
    ],
)
def test_slug_is_a_valid_object_name(name: str, expected: str) -> None:
    assert slug(name, "x1") == expected


def test_http_request_type_is_the_http_template_and_back() -> None:
    assert template_for("http_request") == "http"
    assert type_for("http") == "http_request"
    assert type_for("my-template") == "my-template"


@pytest.mark.parametrize(
    ("spec_field", "rest"),
    [
        ("spec.params.sources[0].application", "payload.sources[0].application"),
        ("spec.schedule.cron", "schedule"),
        ("spec.schedule.timeZone", "timezone"),
        ("spec.template", "type"),
        ("spec.retry.maxAttempts", "retry_policy.max_retries"),
        ("spec.retry.backoff.max", "retry_policy.max_delay_seconds"),
        ("spec.schedule.endTime", "end_date"),
        ("spec.catchUp.window", "catch_up.window_seconds"),
        ("spec.triggers[0].kafka.topic", "triggers[0].kafka.topic"),
        ("spec.description", "description"),
    ],
)
def test_spec_fields_are_named_as_the_caller_wrote_them(spec_field: str, rest: str) -> None:
    assert rest_field(spec_field) == rest


def test_run_row_becomes_the_seed_run_json() -> None:
    slot = datetime(2026, 11, 1, tzinfo=UTC)
    record = RunRecord(
        namespace="org-1",
        scheduledjob="x",
        scheduledjob_uid="u",
        run_name="x-202611010000",
        slot=slot,
        phase=RunPhase.SUCCEEDED,
        started_at=slot,
        finished_at=slot,
        result={"status": "ok"},
    )
    run = run_view(record)
    assert (run.id, run.job_id, run.status, run.result) == (
        "x-202611010000",
        "u",
        "completed",
        {"status": "ok"},
    )
    assert phases_for("running") == (RunState.PENDING, RunState.RUNNING)
    assert phases_for("failed") == (RunState.FAILED,)
    assert phases_for("dead_lettered") == (RunState.DEAD_LETTERED,)
    assert phases_for(None) == ()


def test_a_failed_row_shows_timeout_or_dead_lettered_by_its_marks() -> None:
    slot = datetime(2026, 11, 1, tzinfo=UTC)
    failed = RunRecord("ns", "x", "u", "x-1", slot, RunPhase.FAILED, error="exit code 1")
    timed_out = replace(failed, reason=TIMEOUT_REASON)
    dead = replace(timed_out, dead_lettered_at=slot)
    skipped = replace(failed, phase=RunPhase.SKIPPED, error=None, reason="suspended")

    views = [run_view(r) for r in (failed, timed_out, dead, skipped)]

    assert [(v.status, v.reason) for v in views] == [
        ("failed", None),
        ("timeout", "timeout"),
        ("dead_lettered", "timeout"),
        ("skipped", "suspended"),
    ]


MESSAGE_JOB = {"name": "Forge", "schedule": "0 3 * * *", "type": "message"}


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        ({"topic": "almanac.triggers", "value": "x"}, "payload.topic"),
        ({"topic": "team.notices", "value": "x"}, "payload.topic"),
        (
            {"topic": "reports", "value": "x", "headers": {"almanac-namespace": "org-b"}},
            "payload.headers.almanac-namespace",
        ),
    ],
    ids=["trigger-topic", "moved-notification-topic", "namespace-header"],
)
def test_a_message_job_may_not_publish_to_almanacs_own_names(
    payload: dict[str, object], field: str
) -> None:
    names = KafkaNames(notify_topic="team.notices")
    with pytest.raises(BadRequestError) as refused:
        new_manifest(
            MESSAGE_JOB | {"payload": payload},
            namespace="org-a",
            org_id="a",
            actor="ann",
            suffix="x1",
            kafka_names=names,
        )
    assert field in [p.field for p in refused.value.problems]


def test_a_message_job_to_its_own_topic_with_its_own_headers_is_accepted() -> None:
    payload = {"topic": "reports.daily", "value": "x", "headers": {"trace-id": "1"}}
    body = new_manifest(
        MESSAGE_JOB | {"payload": payload}, namespace="org-a", org_id="a", actor="ann", suffix="x1"
    )
    assert body["spec"]["params"] == payload


NOW = datetime(2026, 12, 3, 12, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("changes", "at", "refused"),
    [
        pytest.param({"schedule": "@at x"}, "2026-12-03T11:59:59Z", True, id="past"),
        pytest.param({"schedule": "@at x"}, "2026-12-03T12:00:00Z", True, id="now-is-too-late"),
        pytest.param({"schedule": "@at x"}, "2026-12-03T12:00:01Z", False, id="future"),
        pytest.param({"name": "renamed"}, "2020-01-01T00:00:00Z", False, id="schedule-untouched"),
        pytest.param({"schedule": "@at x"}, "not a time", False, id="malformed-left-to-spec"),
    ],
)
def test_a_past_at_instant_is_refused_naming_schedule(
    changes: dict[str, Any], at: str, refused: bool
) -> None:
    spec = {"schedule": {"at": at}}
    if not refused:
        refuse_past_instant(changes, spec, NOW)
        return
    with pytest.raises(BadRequestError) as caught:
        refuse_past_instant(changes, spec, NOW)
    assert caught.value.field == "schedule"
    assert "is in the past" in caught.value.message
