"""The job JSON's spec fields in the seeds' words ↔ ScheduledJob.spec, and seed 000's payload
aliases: what a REST caller reads and writes, and that a read written back changes nothing."""

from __future__ import annotations

import copy
from datetime import UTC, datetime
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from almanac.api.errors import BadRequestError, ConflictError, ForbiddenError
from almanac.api.mapping import apply_changes, job_status, job_view
from almanac.api.payloadaliases import canonical_payload
from almanac.api.schemas import JobInput, JobPatch
from almanac.api.specfields import apply_spec_fields, spec_fields_view
from almanac.core.durations import parse_duration
from almanac.core.vocabulary import ANNOTATION_CANCELLED

KUBECTL_SPEC: dict[str, Any] = {
    "template": "command",
    "params": {"command": ["true"]},
    "schedule": {
        "cron": "*/5 * * * *",
        "timeZone": "Europe/Berlin",
        "startTime": "2026-01-01T00:00:00Z",
        "maxRuns": 12,
        "jitter": "1m30s",
    },
    "retry": {"maxAttempts": 3, "backoff": {"initial": "90s", "factor": 3, "max": "1h"}},
    "timeout": "2m",
    "pauseAfterFailures": 3,
    "priority": "high",
    "maxConcurrentRuns": 2,
    "overlapPolicy": "BufferOne",
    "catchUp": {"window": "30m", "maxRuns": 2},
    "history": {"successfulJobs": 1, "failedJobs": 2},
    "triggers": [
        {
            "name": "opened",
            "kafka": {"topic": "tickets", "filter": "event.type == 'opened'", "key": "event.id"},
            "cancelOn": [{"kafka": {"topic": "tickets", "key": "event.id"}}],
            "sequence": ["0s", "10m"],
        }
    ],
    "podTemplate": {"serviceAccountName": "runner", "resources": {"limits": {"cpu": "1"}}},
    "notifications": [
        {"on": ["Failed", "Recovered"], "email": {"to": ["ops@example.com"]}},
        {
            "on": ["DeadLettered"],
            "webhook": {
                "urlFrom": {"name": "chat", "key": "url"},
                "secretHeader": {"name": "X-Token", "secretKeyRef": {"name": "chat", "key": "t"}},
            },
        },
        {"on": ["Succeeded"], "kafka": {"topic": "team-a.job-results"}},
    ],
    "description": "Cleans up",
    "tags": ["ops", "nightly"],
}


def _obj(spec: dict[str, Any], **annotations: str) -> dict[str, Any]:
    return {
        "metadata": {"name": "cleanup", "uid": "u-1", "annotations": dict(annotations)},
        "spec": copy.deepcopy(spec),
    }


def test_a_kubectl_written_spec_reads_in_the_seeds_words() -> None:
    view = spec_fields_view(KUBECTL_SPEC)
    assert view.retry_policy is not None
    assert view.retry_policy.model_dump() == {
        "max_retries": 2,
        "initial_delay_seconds": 90,
        "backoff_factor": 3.0,
        "max_delay_seconds": 3600,
    }
    assert (view.timeout_seconds, view.jitter_seconds, view.max_executions) == (120, 90, 12)
    assert (view.overlap_policy, view.allow_overlap) == ("buffer_one", False)
    assert view.start_date == datetime(2026, 1, 1, tzinfo=UTC)
    assert view.tags == ["ops", "nightly"]
    assert view.pause_after_failures == 3
    assert (view.priority, view.concurrency) == ("high", 2)
    assert view.triggers == [
        {
            "name": "opened",
            "kafka": {"topic": "tickets", "filter": "event.type == 'opened'", "key": "event.id"},
            "cancel_on": [{"kafka": {"topic": "tickets", "key": "event.id"}}],
            "sequence": ["0s", "10m"],
        }
    ]
    assert view.pod_template == KUBECTL_SPEC["podTemplate"]


def test_a_bare_spec_shows_the_defaults_the_operator_applies() -> None:
    view = spec_fields_view({"template": "command", "schedule": {"cron": "* * * * *"}})
    assert view.model_dump(exclude={"start_date", "end_date"}) | {} == {
        "description": None,
        "tags": [],
        "timeout_seconds": None,
        "retry_policy": {
            "max_retries": 0,
            "initial_delay_seconds": 10,
            "backoff_factor": 2.0,
            "max_delay_seconds": 600,
        },
        "overlap_policy": "forbid",
        "allow_overlap": False,
        "priority": None,
        "concurrency": None,
        "max_executions": None,
        "jitter_seconds": None,
        "pause_after_failures": None,
        "catch_up": {"window_seconds": 3600, "max_runs": 1},
        "history_limits": {"successful": 3, "failed": 5},
        "triggers": [],
        "notifications": [],
        "pod_template": None,
    }


@pytest.mark.parametrize(
    "spec",
    [KUBECTL_SPEC, {"template": "command", "params": {}, "schedule": {"cron": "0 3 * * *"}}],
    ids=["everything-set-with-kubectl", "nothing-but-a-schedule"],
)
def test_a_job_read_and_written_back_as_is_leaves_the_spec_untouched(
    spec: dict[str, Any],
) -> None:
    obj = _obj(spec)
    read = job_view(obj).model_dump(mode="json")
    for body in (JobInput, JobPatch):
        changes = body.model_validate(
            {k: v for k, v in read.items() if k in body.model_fields}
        ).model_dump(exclude_none=True)
        changed = apply_changes(obj, changes, actor="ann")
        assert changed["spec"] == spec, body.__name__


@pytest.mark.parametrize(
    ("changes", "expected"),
    [
        ({"timeout_seconds": 90}, {"timeout": "1m30s"}),
        ({"priority": "critical"}, {"priority": "critical"}),
        ({"concurrency": 4}, {"maxConcurrentRuns": 4}),
        ({"description": "Why"}, {"description": "Why"}),
        ({"tags": ["a", "b"]}, {"tags": ["a", "b"]}),
        (
            {"retry_policy": {"max_retries": 2}},
            {
                "retry": {
                    "maxAttempts": 3,
                    "backoff": {"initial": "10s", "factor": 2.0, "max": "10m"},
                }
            },
        ),
        ({"overlap_policy": "replace"}, {"overlapPolicy": "Replace"}),
        ({"allow_overlap": True}, {"overlapPolicy": "Allow"}),
        ({"catch_up": {"max_runs": 0}}, {"catchUp": {"window": "1h", "maxRuns": 0}}),
        ({"history_limits": {"failed": 0}}, {"history": {"successfulJobs": 3, "failedJobs": 0}}),
        ({"pause_after_failures": 4}, {"pauseAfterFailures": 4}),
        (
            {"notifications": [{"on": ["Failed"], "webhook": {"url": "https://hooks.example"}}]},
            {"notifications": [{"on": ["Failed"], "webhook": {"url": "https://hooks.example"}}]},
        ),
        (
            {"notifications": {"on_success": ["a@example.com"], "on_failure": ["b@example.com"]}},
            {
                "notifications": [
                    {"on": ["Failed"], "email": {"to": ["b@example.com"]}},
                    {"on": ["Succeeded"], "email": {"to": ["a@example.com"]}},
                ]
            },
        ),
    ],
    ids=[
        "timeout",
        "priority",
        "concurrency",
        "description",
        "tags",
        "retries-rest-default",
        "overlap",
        "allow-overlap",
        "catch-up",
        "history",
        "pause-after-failures",
        "notifications-as-the-spec-lists-them",
        "notifications-in-seed-003-words",
    ],
)
def test_each_field_writes_its_spec_key(changes: dict[str, Any], expected: dict[str, Any]) -> None:
    spec: dict[str, Any] = {"template": "command", "schedule": {"cron": "* * * * *"}}
    apply_spec_fields(spec, JobPatch.model_validate(changes).model_dump(exclude_unset=True))
    assert spec == {"template": "command", "schedule": {"cron": "* * * * *"}} | expected


def test_schedule_bounds_go_into_the_schedule_and_null_removes_them() -> None:
    spec = copy.deepcopy(KUBECTL_SPEC)
    patch = JobPatch.model_validate(
        {"end_date": "2027-01-01T01:00:00+01:00", "max_executions": None, "jitter_seconds": 5}
    )
    apply_spec_fields(spec, patch.model_dump(exclude_unset=True))
    assert spec["schedule"]["endTime"] == "2027-01-01T00:00:00Z"
    assert "maxRuns" not in spec["schedule"]
    assert spec["schedule"]["jitter"] == "5s"


def test_pause_after_failures_round_trips_and_null_removes_it() -> None:
    spec = copy.deepcopy(KUBECTL_SPEC)
    apply_spec_fields(spec, {"pause_after_failures": 5})
    assert spec["pauseAfterFailures"] == 5
    assert spec_fields_view(spec).pause_after_failures == 5
    patch = JobPatch.model_validate({"pause_after_failures": None})
    apply_spec_fields(spec, patch.model_dump(exclude_unset=True))
    assert "pauseAfterFailures" not in spec


def test_pause_after_zero_failures_is_refused_naming_the_field() -> None:
    with pytest.raises(ValueError, match="pause_after_failures"):
        JobPatch.model_validate({"pause_after_failures": 0})


def test_a_patch_of_one_retry_setting_keeps_the_others() -> None:
    spec = copy.deepcopy(KUBECTL_SPEC)
    patch = JobPatch.model_validate({"retry_policy": {"max_retries": 5}})
    apply_spec_fields(spec, patch.model_dump(exclude_unset=True))
    assert spec["retry"] == {
        "maxAttempts": 6,
        "backoff": {"initial": "90s", "factor": 3.0, "max": "1h"},
    }


@given(st.integers(min_value=1, max_value=9_999 * 86_400))
def test_any_seconds_written_read_back_the_same(seconds: int) -> None:
    spec: dict[str, Any] = {"template": "command", "schedule": {"cron": "* * * * *"}}
    apply_spec_fields(spec, {"timeout_seconds": seconds})
    assert parse_duration(spec["timeout"]).total_seconds() == seconds
    assert spec_fields_view(spec).timeout_seconds == seconds


def test_allow_overlap_false_turns_allow_into_forbid_and_keeps_replace() -> None:
    allow: dict[str, Any] = {"overlapPolicy": "Allow"}
    apply_spec_fields(allow, {"allow_overlap": False})
    assert allow["overlapPolicy"] == "Forbid"
    replace: dict[str, Any] = {"overlapPolicy": "Replace"}
    apply_spec_fields(replace, {"allow_overlap": False})
    assert replace["overlapPolicy"] == "Replace"


def test_contradicting_overlap_settings_are_a_400_naming_allow_overlap() -> None:
    with pytest.raises(BadRequestError) as caught:
        apply_spec_fields({}, {"allow_overlap": True, "overlap_policy": "forbid"})
    assert caught.value.problems[0].field == "allow_overlap"


def test_a_changed_pod_template_is_refused_naming_it_and_an_unchanged_one_passes() -> None:
    spec = copy.deepcopy(KUBECTL_SPEC)
    apply_spec_fields(spec, {"pod_template": KUBECTL_SPEC["podTemplate"]})
    with pytest.raises(ForbiddenError) as caught:
        apply_spec_fields(spec, {"pod_template": {"serviceAccountName": "admin"}})
    assert caught.value.problems[0].field == "pod_template"
    assert "kubectl" in caught.value.message
    assert spec == KUBECTL_SPEC


def test_a_bad_trigger_is_a_400_naming_its_field() -> None:
    with pytest.raises(BadRequestError) as caught:
        apply_spec_fields({}, {"triggers": [{"kafka": {"topic": "t", "colour": 1}}]})
    assert caught.value.problems[0].field == "triggers[0].kafka.colour"


def test_a_bad_spec_field_through_the_job_json_names_the_json_field() -> None:
    obj = _obj({"template": "command", "params": {}, "schedule": {"cron": "* * * * *"}})
    with pytest.raises(BadRequestError) as caught:
        apply_changes(
            obj,
            {
                "start_date": datetime(2027, 1, 1, tzinfo=UTC),
                "end_date": datetime(2026, 1, 1, tzinfo=UTC),
            },
            actor="ann",
        )
    assert caught.value.problems[0].field in {"start_date", "end_date"}


def test_seed_message_payload_takes_the_default_topic_and_needs_one() -> None:
    assert canonical_payload("message", {"message": "hi"}, "jobs.out") == {
        "value": "hi",
        "topic": "jobs.out",
    }
    assert canonical_payload("message", {"message": "hi", "topic": "mine"}, None) == {
        "value": "hi",
        "topic": "mine",
    }
    with pytest.raises(BadRequestError) as caught:
        canonical_payload("message", {"message": "hi"}, None)
    assert caught.value.problems[0].field == "payload.topic"
    assert "ALMANAC_API_DEFAULT_MESSAGE_TOPIC" in caught.value.message


def test_seed_command_string_runs_in_a_shell_and_other_shapes_are_untouched() -> None:
    assert canonical_payload("command", {"command": "echo hi"}, None) == {
        "command": "echo hi",
        "shell": True,
    }
    argv = {"command": ["echo", "hi"]}
    assert canonical_payload("command", argv, None) == argv
    assert canonical_payload("http", {"message": "x"}, None) == {"message": "x"}


def test_a_cancelled_job_reads_cancelled_and_cannot_be_resumed() -> None:
    obj = _obj(
        {"template": "command", "params": {}, "schedule": {"cron": "* * * * *"}, "suspend": True},
        **{ANNOTATION_CANCELLED: "2026-12-04T10:00:00+00:00"},
    )
    assert job_status(obj) == "cancelled"
    with pytest.raises(ConflictError) as caught:
        apply_changes(obj, {"status": "scheduled"}, actor="ann")
    assert caught.value.problems[0].field == "status"
    renamed = apply_changes(obj, {"name": "Old cleanup"}, actor="ann")
    assert job_status(renamed) == "cancelled"


def test_notifications_read_back_in_snake_case_and_null_removes_them() -> None:
    spec = copy.deepcopy(KUBECTL_SPEC)
    shown = spec_fields_view(spec).notifications
    assert isinstance(shown, list)
    assert shown[1]["webhook"]["url_from"] == {"name": "chat", "key": "url"}
    assert shown[1]["webhook"]["secret_header"]["secret_key_ref"] == {"name": "chat", "key": "t"}
    apply_spec_fields(
        spec, JobPatch.model_validate({"notifications": None}).model_dump(exclude_unset=True)
    )
    assert "notifications" not in spec


def test_a_bad_notification_is_a_400_naming_its_field_and_the_fix() -> None:
    spec: dict[str, Any] = {"template": "command", "schedule": {"cron": "* * * * *"}}
    bad = {"notifications": [{"on": ["Failed"], "webhook": {"url": "https://u:p@hooks.example"}}]}
    with pytest.raises(BadRequestError) as caught:
        apply_spec_fields(spec, JobPatch.model_validate(bad).model_dump(exclude_unset=True))
    assert caught.value.field == "notifications[0].webhook.url"
    assert "secretHeader" in caught.value.message


def test_a_seed_address_that_is_not_one_is_refused_naming_it() -> None:
    with pytest.raises(ValueError, match="on_failure"):
        JobPatch.model_validate({"notifications": {"on_failure": ["Ops <ops@example.com>"]}})
