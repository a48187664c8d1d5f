"""A run's Job manifest and what the operator reads back from a Job."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from almanac.core.errors import InvalidSpecError
from almanac.core.models import History, Retry
from almanac.core.resource import parse_spec
from almanac.core.runs import (
    JobObservation,
    RunRequest,
    build_job,
    builtin_template,
    observe_job,
)
from almanac.core.runstatus import LISTED_ACTIVE, due_retries, jobs_to_prune, summarize_runs
from almanac.core.status import RunCounts, RunPhase, TriggerKind
from almanac.core.tracing import run_trace_id, span_id_of

SLOT = datetime(2026, 3, 29, 1, 30, tzinfo=UTC)
UID = "0b4c6a5e-1111-2222-3333-444455556666"


def make_job(**spec: Any) -> dict[str, Any]:
    parsed = parse_spec(
        {"template": "command", "params": {"command": ["true"]}, "schedule": {"every": "1h"}} | spec
    )
    return build_job(
        name="nightly",
        namespace="org-1",
        uid=UID,
        spec=parsed,
        run=RunRequest(SLOT, TriggerKind.SCHEDULE, attempt=2),
        template=builtin_template("command", "localhost/almanac:dev"),
    )


def test_job_carries_name_labels_owner_and_slot_annotation() -> None:
    job = make_job()
    meta = job["metadata"]
    assert meta["name"] == "nightly-202603290130-a2"
    assert meta["labels"]["almanac.dev/slot"] == str(int(SLOT.timestamp()))
    assert meta["labels"]["almanac.dev/attempt"] == "2"
    assert meta["annotations"]["almanac.dev/scheduled-time"] == "2026-03-29T01:30:00Z"
    assert meta["ownerReferences"][0]["uid"] == UID
    assert job["spec"]["backoffLimit"] == 0


def test_job_pod_is_restricted_and_gets_the_run_environment() -> None:
    pod = make_job(timeout="15m")["spec"]["template"]["spec"]
    (container,) = pod["containers"]
    assert container["securityContext"]["runAsNonRoot"] is True
    assert container["securityContext"]["readOnlyRootFilesystem"] is True
    assert pod["automountServiceAccountToken"] is False
    env = {e["name"]: e["value"] for e in container["env"]}
    assert env["ALMANAC_SLOT"] == "2026-03-29T01:30:00Z"
    assert json.loads(env["ALMANAC_PARAMS"]) == {"command": ["true"]}
    assert env["ALMANAC_ATTEMPT"] == "2"


def test_timeout_becomes_active_deadline_and_service_account_enables_the_token() -> None:
    job = make_job(timeout="1h30m", podTemplate={"serviceAccountName": "runner"})
    assert job["spec"]["activeDeadlineSeconds"] == 5400
    pod = job["spec"]["template"]["spec"]
    assert pod["serviceAccountName"] == "runner"
    assert pod["automountServiceAccountToken"] is True


def job_body(conditions: list[dict[str, str]], **status: Any) -> dict[str, Any]:
    job = make_job()
    job["status"] = {"conditions": conditions, **status}
    return job


@pytest.mark.parametrize(
    ("conditions", "extra", "phase"),
    [
        pytest.param([], {}, RunPhase.PENDING, id="no-status-yet"),
        pytest.param([], {"active": 1}, RunPhase.RUNNING, id="active-pod"),
        pytest.param(
            [{"type": "SuccessCriteriaMet", "status": "True"}],
            {},
            RunPhase.SUCCEEDED,
            id="success-before-complete",
        ),
        pytest.param(
            [{"type": "Complete", "status": "True"}], {}, RunPhase.SUCCEEDED, id="complete"
        ),
        pytest.param(
            [{"type": "FailureTarget", "status": "True"}], {}, RunPhase.FAILED, id="failure-target"
        ),
        pytest.param([{"type": "Failed", "status": "True"}], {}, RunPhase.FAILED, id="failed"),
    ],
)
def test_job_phase_is_read_from_its_conditions(
    conditions: list[dict[str, str]], extra: dict[str, Any], phase: RunPhase
) -> None:
    seen = observe_job(job_body(conditions, **extra))
    assert seen is not None
    assert seen.phase is phase
    assert (seen.slot, seen.attempt) == (SLOT, 2)


@pytest.mark.parametrize(
    ("condition", "timed_out"),
    [
        pytest.param({"type": "Failed", "reason": "DeadlineExceeded"}, True, id="deadline"),
        pytest.param({"type": "FailureTarget", "reason": "DeadlineExceeded"}, True, id="target"),
        pytest.param({"type": "Failed", "reason": "BackoffLimitExceeded"}, False, id="exit-code"),
    ],
)
def test_a_job_failed_at_its_deadline_is_seen_timed_out(
    condition: dict[str, str], timed_out: bool
) -> None:
    seen = observe_job(job_body([condition | {"status": "True"}]))

    assert seen is not None
    assert (seen.phase, seen.timed_out) == (RunPhase.FAILED, timed_out)


def test_a_job_without_almanac_labels_is_not_ours() -> None:
    assert observe_job({"metadata": {"name": "x", "labels": {}}}) is None


def run(name: str, phase: RunPhase, minute: int, attempt: int = 1) -> JobObservation:
    slot = SLOT + timedelta(minutes=minute)
    done = slot + timedelta(seconds=30) if phase in (RunPhase.SUCCEEDED, RunPhase.FAILED) else None
    return JobObservation(name, slot, TriggerKind.SCHEDULE, attempt, phase, slot, done)


def test_status_summary_counts_pruned_and_live_runs() -> None:
    jobs = [
        run("a", RunPhase.SUCCEEDED, 0),
        run("b", RunPhase.FAILED, 1),
        run("c", RunPhase.RUNNING, 2),
    ]
    summary = summarize_runs(
        jobs,
        previous_counts=RunCounts(pruned_succeeded=4),
        previous_success=None,
        messages={"b": "boom"},
    )
    assert [a.job for a in summary.active] == ["c"]
    assert summary.last_run is not None
    assert (summary.last_run.job, summary.last_run.message) == ("b", "boom")
    assert (summary.counts.succeeded, summary.counts.failed) == (5, 1)
    assert summary.last_successful_time == SLOT + timedelta(seconds=30)


def test_status_names_the_oldest_active_runs_and_counts_them_all() -> None:
    jobs = [run(f"r{i:03}", RunPhase.PENDING, i) for i in reversed(range(LISTED_ACTIVE + 30))]
    summary = summarize_runs(jobs, previous_counts=RunCounts(), previous_success=None, messages={})
    assert summary.active_count == LISTED_ACTIVE + 30
    assert [a.job for a in summary.active] == [f"r{i:03}" for i in range(LISTED_ACTIVE)]


def test_history_limits_prune_oldest_finished_jobs_only_once_recorded() -> None:
    jobs = [run(f"s{i}", RunPhase.SUCCEEDED, i) for i in range(5)]
    jobs.append(run("active", RunPhase.RUNNING, 9))
    history = History(successful_jobs=3, failed_jobs=1)
    assert [j.name for j in jobs_to_prune(jobs, history)] == ["s0", "s1"]
    assert [j.name for j in jobs_to_prune(jobs, history, recorded=["s1"])] == ["s1"]


def test_failed_attempt_with_attempts_left_is_due_after_backoff() -> None:
    retry = Retry.model_validate({"maxAttempts": 3, "backoff": {"initial": "10s"}})
    failed = run("f", RunPhase.FAILED, 0)
    ((request, due),) = due_retries([failed], retry)
    assert (request.attempt, request.slot) == (2, failed.slot)
    assert failed.completion_time is not None
    assert due == failed.completion_time + timedelta(seconds=10)
    second = run("f-a2", RunPhase.RUNNING, 0, attempt=2)
    assert due_retries([failed, second], retry) == []


def test_secret_params_are_mounted_read_only_not_copied_into_the_spec() -> None:
    job = make_job(
        template="sql",
        params={"dsn": {"secretKeyRef": {"name": "db", "key": "dsn"}}, "statement": "SELECT 1"},
    )
    pod = job["spec"]["template"]["spec"]
    (volume,) = [v for v in pod["volumes"] if "secret" in v]
    assert volume["secret"] == {
        "secretName": "db",
        "items": [{"key": "dsn", "path": "dsn"}],
        "defaultMode": 0o440,
        "optional": True,  # a missing Secret fails the run with a message, not a hang
    }
    assert pod["securityContext"]["fsGroup"] == 10001  # the run user can read the files
    (mount,) = [m for m in pod["containers"][0]["volumeMounts"] if m["name"] == volume["name"]]
    assert (mount["mountPath"], mount["readOnly"]) == ("/var/run/almanac/secrets/db", True)


def test_almanac_variables_win_over_template_and_pod_env() -> None:
    job = make_job(template="http", params={"url": "http://10.244.0.1/"})
    env = job["spec"]["template"]["spec"]["containers"][0]["env"]
    names = [e["name"] for e in env]
    assert names[-9:] == [
        "ALMANAC_RUN",
        "ALMANAC_SCHEDULEDJOB",
        "ALMANAC_NAMESPACE",
        "ALMANAC_TEMPLATE",
        "ALMANAC_PARAMS",
        "ALMANAC_SLOT",
        "ALMANAC_ATTEMPT",
        "ALMANAC_TRIGGER",
        "TRACEPARENT",
    ]


def test_a_spec_may_not_set_almanac_variables() -> None:
    with pytest.raises(InvalidSpecError) as caught:
        parse_spec(
            {
                "template": "http",
                "schedule": {"every": "1m"},
                "podTemplate": {
                    "env": [{"name": "ALMANAC_HTTP_ALLOW_CIDRS", "value": "0.0.0.0/0"}]
                },
            }
        )
    assert caught.value.field == "spec.podTemplate.env[0].name"
    assert "reserved" in str(caught.value)
    assert "rename the variable" in str(caught.value)


def test_a_spec_may_not_set_the_trace_context() -> None:
    with pytest.raises(InvalidSpecError) as caught:
        parse_spec(
            {
                "template": "http",
                "schedule": {"every": "1m"},
                "podTemplate": {"env": [{"name": "traceparent", "value": "00-..."}]},
            }
        )
    assert caught.value.field == "spec.podTemplate.env[0].name"
    assert "trace context" in str(caught.value)


def test_run_container_gets_its_traceparent_the_same_on_every_build() -> None:
    first, again = make_job(), make_job()
    env = {e["name"]: e["value"] for e in first["spec"]["template"]["spec"]["containers"][0]["env"]}
    trace = run_trace_id(UID, first["metadata"]["name"])
    assert env["TRACEPARENT"] == f"00-{trace}-{span_id_of(trace, 'almanac.run')}-01"
    assert first == again  # a re-built Job body is identical (creation stays idempotent)
