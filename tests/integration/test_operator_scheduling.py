"""The operator on the real stack: runs at the right instants, once each, visibly, and
follows suspend, run-now, overlap policies, retries, edits and invalid specs."""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from tests.integration.operator_support import (
    almanac_jobs,
    annotate,
    condition,
    jobs_at_least,
    module_operator,
    patch_spec,
    scheduled_job,
    script_template,
    slots,
    status,
    with_script_template,
)
from tests.support import Kubectl, consistently, eventually
from tests.support.operator import OperatorProcess


@pytest.fixture(scope="module")
def operator(crds: Kubectl, tmp_path_factory: pytest.TempPathFactory) -> Iterator[OperatorProcess]:
    with module_operator("scheduling-suite", tmp_path_factory) as replica:
        yield replica


@pytest.fixture
def k(crds: Kubectl, operator: OperatorProcess, namespace: str) -> Kubectl:
    return with_script_template(crds, namespace)


async def test_every_slot_runs_once_as_a_restricted_job_and_status_follows(k: Kubectl) -> None:
    k.apply(
        scheduled_job(
            "tick",
            schedule={"every": "5s"},
            params={"say": "hello"},
            history={"successfulJobs": 20, "failedJobs": 20},
        )
    )
    # Generous: this is the first test of the module, and the operator's first pass also
    # meets the leftovers of earlier modules (namespaces still terminating).
    jobs = await jobs_at_least(k, "tick", 3, timeout=150)
    seen = slots(jobs)
    assert len(seen) == len(set(seen)), "a slot ran twice"
    assert all(s % 5 == 0 for s in seen)
    job = jobs[0]
    slot = int(job["metadata"]["labels"]["almanac.dev/slot"])
    stamp = datetime.fromtimestamp(slot, UTC)
    expected_name = f"tick-{stamp:%Y%m%d%H%M}" + (f"{stamp:%S}" if stamp.second else "")
    assert job["metadata"]["name"] == expected_name
    assert job["metadata"]["annotations"]["almanac.dev/scheduled-time"] == (
        stamp.isoformat().replace("+00:00", "Z")
    )
    assert job["metadata"]["ownerReferences"][0]["kind"] == "ScheduledJob"
    assert job["spec"]["backoffLimit"] == 0
    container = job["spec"]["template"]["spec"]["containers"][0]
    assert container["securityContext"]["readOnlyRootFilesystem"] is True
    assert container["securityContext"]["capabilities"] == {"drop": ["ALL"]}
    assert job["spec"]["template"]["spec"]["automountServiceAccountToken"] is False

    def succeeded() -> dict[str, object] | None:
        last = status(k, "tick").get("lastRun") or {}
        return last if last.get("phase") == "Succeeded" else None

    last = await eventually(succeeded, timeout=60, what="a succeeded run in status")
    assert last["message"] == "hello"
    current = status(k, "tick")
    assert current["scheduleSummary"] == "every 5s"
    assert current["counts"]["succeeded"] >= 1
    assert datetime.fromisoformat(current["nextRunTime"]) > datetime.fromisoformat(
        current["lastScheduleTime"]
    )
    ready = condition(k, "tick", "Ready")
    assert ready is not None
    assert ready["status"] == "True"
    _header, row = k.run("get", "sj", "tick").splitlines()
    assert row.split()[1:4] == ["every", "5s", "UTC"]
    events = k.run("get", "events", "--field-selector", "involvedObject.name=tick")
    assert "Launched" in events


async def test_suspended_slots_are_skipped_and_resume_runs_no_past_slot(k: Kubectl) -> None:
    k.apply(scheduled_job("pausable", schedule={"every": "5s"}))
    await jobs_at_least(k, "pausable", 1)
    patch_spec(k, "pausable", {"suspend": True})
    annotate(k, "pausable", "almanac.dev/suspend-reason", "maintenance")
    await eventually(
        lambda: (condition(k, "pausable", "Suspended") or {}).get("status") == "True",
        timeout=20,
        what="Suspended condition",
    )
    before = slots(almanac_jobs(k, "pausable"))
    await consistently(
        lambda: slots(almanac_jobs(k, "pausable")) == before,
        duration=11,
        interval=1,
        what="no run while suspended",
    )
    assert status(k, "pausable")["counts"]["skipped"] >= 2
    assert (condition(k, "pausable", "Ready") or {})["message"] == "maintenance"
    resumed_at = time.time()
    patch_spec(k, "pausable", {"suspend": False})
    jobs = await jobs_at_least(k, "pausable", len(before) + 1, timeout=30)
    new = [s for s in slots(jobs) if s not in before]
    assert new, "no run after resume"
    assert min(new) >= int(resumed_at) - 1, "resume ran a slot from the suspended period"


async def test_run_now_runs_once_per_idempotency_key(k: Kubectl) -> None:
    k.apply(scheduled_job("manual", schedule={"cron": "0 0 1 1 *"}))
    annotate(k, "manual", "almanac.dev/run-now", "first")
    (job,) = await jobs_at_least(k, "manual", 1, timeout=30)
    assert job["metadata"]["labels"]["almanac.dev/trigger"] == "manual"
    await eventually(
        lambda: "first" in (status(k, "manual").get("runNowKeys") or []),
        timeout=20,
        what="run-now key acknowledged",
    )
    k.apply(scheduled_job("manual", schedule={"cron": "0 0 1 1 *"}))  # re-apply: same key
    patch_spec(k, "manual", {"params": {"say": "again"}})
    await consistently(
        lambda: len(almanac_jobs(k, "manual")) == 1, duration=5, what="one run for key 'first'"
    )
    annotate(k, "manual", "almanac.dev/run-now", "second")
    await jobs_at_least(k, "manual", 2, timeout=30)


async def test_forbid_skips_slots_while_a_run_is_active(k: Kubectl) -> None:
    k.apply(
        scheduled_job(
            "forbid", schedule={"every": "5s"}, params={"seconds": 60}, overlapPolicy="Forbid"
        )
    )
    await jobs_at_least(k, "forbid", 1)
    await eventually(
        lambda: status(k, "forbid").get("counts", {}).get("skipped", 0) >= 2,
        timeout=30,
        what="skipped slots",
    )
    assert len(almanac_jobs(k, "forbid")) == 1


async def test_allow_runs_overlapping_slots_concurrently(k: Kubectl) -> None:
    k.apply(
        scheduled_job(
            "allow", schedule={"every": "5s"}, params={"seconds": 60}, overlapPolicy="Allow"
        )
    )
    await eventually(
        lambda: status(k, "allow").get("activeCount", 0) >= 2, timeout=40, what="two active runs"
    )


async def test_replace_deletes_the_active_run(k: Kubectl) -> None:
    k.apply(
        scheduled_job(
            "replace", schedule={"every": "5s"}, params={"seconds": 60}, overlapPolicy="Replace"
        )
    )
    (first,) = await jobs_at_least(k, "replace", 1)
    name = first["metadata"]["name"]
    await eventually(
        lambda: name not in {j["metadata"]["name"] for j in almanac_jobs(k, "replace")},
        timeout=40,
        what="first run replaced",
    )
    assert "Replaced" in k.run("get", "events", "--field-selector", "involvedObject.name=replace")


async def test_failed_run_is_retried_as_a_new_attempt(k: Kubectl) -> None:
    k.apply(
        scheduled_job(
            "flaky",
            schedule={"cron": "0 0 1 1 *"},
            params={"exit": 3},
            retry={"maxAttempts": 2, "backoff": {"initial": "1s"}},
        )
    )
    annotate(k, "flaky", "almanac.dev/run-now", "go")
    jobs = await jobs_at_least(k, "flaky", 2, timeout=60)
    attempts = sorted(j["metadata"]["labels"]["almanac.dev/attempt"] for j in jobs)
    assert attempts == ["1", "2"]
    assert any(j["metadata"]["name"].endswith("-a2") for j in jobs)
    await eventually(
        lambda: status(k, "flaky").get("counts", {}).get("failed") == 2,
        timeout=60,
        what="both attempts failed",
    )
    await consistently(
        lambda: len(almanac_jobs(k, "flaky")) == 2, duration=4, what="no third attempt"
    )


async def test_editing_the_schedule_never_runs_past_slots(k: Kubectl) -> None:
    k.apply(scheduled_job("edited", schedule={"cron": "0 0 1 1 *"}))
    await eventually(lambda: status(k, "edited").get("scheduleHash"), timeout=20, what="first pass")
    edited_at = time.time()
    patch_spec(k, "edited", {"schedule": {"every": "5s", "cron": None}})
    jobs = await jobs_at_least(k, "edited", 1, timeout=30)
    assert min(slots(jobs)) >= int(edited_at) - 1


async def test_spec_that_cannot_run_is_reported_not_run(k: Kubectl) -> None:
    # The CRD cannot check cron (string or list); the operator refuses it with the reason.
    k.apply(scheduled_job("never", schedule={"cron": "0 0 30 2 *"}))
    invalid = await eventually(
        lambda: (c := condition(k, "never", "InvalidSpec")) and c["status"] == "True" and c,
        timeout=20,
        what="InvalidSpec condition",
    )
    assert "never fires" in invalid["message"]
    assert almanac_jobs(k, "never") == []
    k.apply(scheduled_job("no-template", template="nope", schedule={"every": "5s"}))
    ready = await eventually(
        lambda: (
            (c := condition(k, "no-template", "Ready")) and c["reason"] == "TemplateNotFound" and c
        ),
        timeout=20,
        what="TemplateNotFound",
    )
    assert "nope" in ready["message"]
    # The template arriving later (watches keep no order between kinds) starts it.
    k.apply(script_template() | {"metadata": {"name": "nope"}})
    await jobs_at_least(k, "no-template", 1, timeout=30)


async def test_buffer_one_queues_a_slot_until_the_active_run_ends(k: Kubectl) -> None:
    k.apply(
        scheduled_job(
            "buffered",
            schedule={"every": "5s"},
            params={"seconds": 9},
            overlapPolicy="BufferOne",
            history={"successfulJobs": 20, "failedJobs": 20},
        )
    )
    await consistently(
        lambda: status(k, "buffered").get("activeCount", 0) <= 1,
        duration=20,
        interval=0.5,
        what="never two runs at once",
    )
    events = k.run("get", "events", "--field-selector", "involvedObject.name=buffered")
    assert "Buffered" in events
    jobs = await jobs_at_least(k, "buffered", 2)
    late = [
        j
        for j in jobs
        if int(j["metadata"]["labels"]["almanac.dev/slot"]) + 4
        < datetime.fromisoformat(j["metadata"]["creationTimestamp"]).timestamp()
    ]
    assert late, "the buffered slot started after the active run, not at its slot"


async def test_history_limits_delete_old_jobs_and_keep_totals(k: Kubectl) -> None:
    k.apply(
        scheduled_job(
            "pruned",
            schedule={"every": "5s"},
            overlapPolicy="Allow",
            history={"successfulJobs": 1, "failedJobs": 1},
        )
    )
    await eventually(
        lambda: status(k, "pruned").get("counts", {}).get("prunedSucceeded", 0) >= 2,
        timeout=120,
        what="two succeeded Jobs pruned",
    )
    counts = status(k, "pruned")["counts"]
    assert counts["succeeded"] >= counts["prunedSucceeded"] + 1
    succeeded = [
        j
        for j in almanac_jobs(k, "pruned")
        if any(c["type"] == "Complete" for c in j.get("status", {}).get("conditions", []))
    ]
    assert len(succeeded) <= 1


async def test_manual_retry_runs_one_more_attempt_of_a_failed_run(k: Kubectl) -> None:
    k.apply(scheduled_job("by-hand", schedule={"cron": "0 0 1 1 *"}, params={"exit": 2}))
    annotate(k, "by-hand", "almanac.dev/run-now", "once")
    (first,) = await jobs_at_least(k, "by-hand", 1, timeout=30)
    name = first["metadata"]["name"]
    await eventually(
        lambda: (status(k, "by-hand").get("lastRun") or {}).get("phase") == "Failed",
        timeout=60,
        what="the run failed",
    )
    annotate(k, "by-hand", "almanac.dev/retry", name)
    jobs = await jobs_at_least(k, "by-hand", 2, timeout=30)
    retried = [j for j in jobs if j["metadata"]["labels"]["almanac.dev/trigger"] == "retry"]
    assert len(retried) == 1
    assert retried[0]["metadata"]["labels"]["almanac.dev/attempt"] == "2"
    assert (
        retried[0]["metadata"]["labels"]["almanac.dev/slot"]
        == (first["metadata"]["labels"]["almanac.dev/slot"])
    )
    await consistently(
        lambda: len(almanac_jobs(k, "by-hand")) == 2, duration=4, what="one retry per request"
    )


TEMPLATES = Path(__file__).resolve().parents[2] / "config" / "templates"


async def test_builtin_command_template_runs_the_executor_and_reports_its_result(
    k: Kubectl,
) -> None:
    k.run("apply", "-f", str(TEMPLATES))
    k.apply(
        scheduled_job(
            "echo",
            template="command",
            schedule={"every": "5s"},
            params={"command": ["echo", "hello from a run"]},
        )
    )

    def finished() -> dict[str, object] | None:
        last = status(k, "echo").get("lastRun") or {}
        return last if last.get("phase") in ("Succeeded", "Failed") else None

    last = await eventually(finished, timeout=90, what="a finished command run")
    assert last["phase"] == "Succeeded", last
    assert last["message"] == "command exited with code 0"


async def test_params_that_break_the_template_schema_are_reported_not_run(k: Kubectl) -> None:
    k.run("apply", "-f", str(TEMPLATES))
    k.apply(
        scheduled_job("wrong", template="command", schedule={"every": "5s"}, params={"command": 42})
    )
    invalid = await eventually(
        lambda: (c := condition(k, "wrong", "InvalidSpec")) and c["status"] == "True" and c,
        timeout=30,
        what="InvalidSpec for params",
    )
    assert "spec.params.command" in invalid["message"]
    assert almanac_jobs(k, "wrong") == []
