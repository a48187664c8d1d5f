"""What a retry through REST repeats: the run's Job while it exists, its history row once
history limits pruned the Job; 404 for a run of no job in the caller's namespace, 409 while
it runs, and 409 (not a bare run) for an event's run whose params only a vanished
RunRequest kept."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from almanac.api.errors import ConflictError, NotFoundError
from almanac.api.retries import RetryTarget, find_retry_target, origin_of
from almanac.core.resource import parse_spec
from almanac.core.runrequests import EventSource, RunRequestSpec, run_request_body
from almanac.core.runs import RunRequest, build_job, builtin_template
from almanac.core.status import RunPhase, TriggerKind
from almanac.history.records import RunRecord
from tests.support.runstore import InMemoryRunStore

SLOT = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)
SPEC = parse_spec(
    {"schedule": {"cron": "0 * * * *"}, "template": "command", "params": {"command": ["true"]}}
)
FAILED = {
    "conditions": [
        {"type": "Failed", "status": "True", "lastTransitionTime": "2026-12-01T12:00:20Z"}
    ]
}


class Kube:
    """The facade's reads a retry makes: run Jobs and RunRequests of one namespace."""

    def __init__(self) -> None:
        self.jobs: dict[tuple[str, str], dict[str, Any]] = {}
        self.requests: dict[tuple[str, str], dict[str, Any]] = {}

    async def get_run_job(self, namespace: str, name: str) -> dict[str, Any] | None:
        return self.jobs.get((namespace, name))

    async def get_run_request(self, namespace: str, name: str) -> dict[str, Any] | None:
        return self.requests.get((namespace, name))


def _job(kube: Kube, run: RunRequest, status: dict[str, Any] | None = None) -> str:
    body = build_job(
        name="report",
        namespace="org-1",
        uid="uid-1",
        spec=SPEC,
        run=run,
        template=builtin_template("command", "img"),
    )
    body["status"] = status or {}
    kube.jobs[("org-1", body["metadata"]["name"])] = body
    return str(body["metadata"]["name"])


async def test_a_finished_runs_job_names_what_to_retry() -> None:
    kube = Kube()
    run = _job(kube, RunRequest(SLOT, TriggerKind.SCHEDULE), FAILED)
    target = await find_retry_target(kube, InMemoryRunStore(), "org-1", run)  # type: ignore[arg-type]
    assert target == RetryTarget("uid-1", run, SLOT, 1, None, carried_event=False)
    assert await origin_of(kube, "org-1", target) is None  # type: ignore[arg-type]


async def test_a_run_still_running_is_not_retried() -> None:
    kube = Kube()
    run = _job(kube, RunRequest(SLOT, TriggerKind.SCHEDULE), {"active": 1})
    with pytest.raises(ConflictError, match="has not finished"):
        await find_retry_target(kube, InMemoryRunStore(), "org-1", run)  # type: ignore[arg-type]


async def test_a_pruned_run_is_found_in_history() -> None:
    store = InMemoryRunStore()
    record = RunRecord(
        "org-1", "report", "uid-1", "report-202612011200", SLOT, RunPhase.FAILED, attempt=2
    )
    await store.record_run(record)
    target = await find_retry_target(Kube(), store, "org-1", record.run_name)  # type: ignore[arg-type]
    assert target == RetryTarget("uid-1", record.run_name, SLOT, 2, None, carried_event=False)


async def test_another_namespaces_run_is_no_run() -> None:
    kube, store = Kube(), InMemoryRunStore()
    run = _job(kube, RunRequest(SLOT, TriggerKind.SCHEDULE), FAILED)
    await store.record_run(RunRecord("org-1", "report", "uid-1", run, SLOT, RunPhase.FAILED))
    with pytest.raises(NotFoundError):
        await find_retry_target(kube, store, "org-2", run)  # type: ignore[arg-type]


async def test_an_events_run_is_retried_with_its_event_or_not_at_all() -> None:
    kube = Kube()
    origin = RunRequestSpec(
        scheduled_job="report",
        trigger="orders",
        kind="event",
        due_time=SLOT,
        params={"env": {"ORDER": "42"}},
        source=EventSource(id="order-42"),
    )
    event_run = RunRequest(SLOT, TriggerKind.EVENT, request="rr-1", event_id="order-42", n=7)
    run = _job(kube, event_run, FAILED)
    target = await find_retry_target(kube, InMemoryRunStore(), "org-1", run)  # type: ignore[arg-type]
    assert (target.request, target.carried_event) == ("rr-1", True)
    with pytest.raises(ConflictError, match="publish the event again"):
        await origin_of(kube, "org-1", target)  # type: ignore[arg-type]
    body = run_request_body(
        name="rr-1", namespace="org-1", owner="report", owner_uid="uid-1", spec=origin
    )
    kube.requests[("org-1", "rr-1")] = body
    assert await origin_of(kube, "org-1", target) == origin  # type: ignore[arg-type]


async def test_an_events_run_known_only_to_history_is_refused() -> None:
    store = InMemoryRunStore()
    record = RunRecord(
        "org-1",
        "report",
        "uid-1",
        "report-x-e7",
        SLOT,
        RunPhase.FAILED,
        trigger="event",
        event_id="order-42",
    )
    await store.record_run(record)
    target = await find_retry_target(Kube(), store, "org-1", record.run_name)  # type: ignore[arg-type]
    with pytest.raises(ConflictError, match="that request is gone"):
        await origin_of(Kube(), "org-1", target)  # type: ignore[arg-type]
