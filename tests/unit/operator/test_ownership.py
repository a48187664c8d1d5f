"""The scheduler attaches a Job or RunRequest to a ScheduledJob only when it is in the same
namespace and its controller owner reference is that ScheduledJob: a RunRequest forged in
another namespace with a victim's uid, or a Job whose label and owner disagree, belongs to
nothing (and is counted)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from almanac.core.naming import controller_reference
from almanac.core.runrequests import EventSource, RunRequestSpec, run_request_body
from almanac.operator.observability import Metrics
from almanac.operator.scheduler import Scheduler

from .objects import trigger_job

NOW = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)


def _scheduler() -> tuple[Scheduler, Metrics]:
    metrics = Metrics()
    s = Scheduler(None, metrics, image="img", clock=lambda: NOW)  # type: ignore[arg-type]
    s.upsert(trigger_job())  # ns/a, uid u1
    return s, metrics


def _request(namespace: str, name: str = "r1") -> dict[str, Any]:
    spec = RunRequestSpec(
        scheduled_job="a",
        trigger="t",
        kind="event",
        due_time=NOW,
        source=EventSource(id="e1", topic="events", partition=0, offset=1),
    )
    body = run_request_body(name=name, namespace=namespace, owner="a", owner_uid="u1", spec=spec)
    return body | {"status": {"phase": "Pending"}}


def _job(namespace: str, *, owner_uid: str = "u1") -> dict[str, Any]:
    return {
        "metadata": {
            "namespace": namespace,
            "name": "a-202612011200",
            "labels": {"almanac.dev/scheduledjob-uid": "u1", "almanac.dev/slot": "1796126400"},
            "ownerReferences": [controller_reference("a", owner_uid)],
        },
        "status": {"active": 1},
    }


def _foreign(metrics: Metrics, kind: str) -> float:
    return float(metrics.foreign_objects.labels(kind)._value.get())


def test_a_runrequest_forged_in_another_namespace_is_not_the_jobs() -> None:
    s, _ = _scheduler()
    s.request_event(_request("org-mallory"), deleted=False)
    assert s.find("ns", "a").requests == {}  # type: ignore[union-attr]


def test_a_runrequest_of_the_jobs_own_namespace_is_kept() -> None:
    s, _ = _scheduler()
    s.request_event(_request("ns"), deleted=False)
    assert list(s.find("ns", "a").requests) == ["r1"]  # type: ignore[union-attr]


def test_a_forged_runrequest_is_not_adopted_when_the_job_arrives_later() -> None:
    metrics = Metrics()
    s = Scheduler(None, metrics, image="img", clock=lambda: NOW)  # type: ignore[arg-type]
    s.request_event(_request("org-mallory", "forged"), deleted=False)
    s.request_event(_request("ns", "real"), deleted=False)
    s.upsert(trigger_job())
    assert list(s.find("ns", "a").requests) == ["real"]  # type: ignore[union-attr]


def test_a_job_whose_label_and_owner_disagree_is_ignored_and_counted() -> None:
    s, metrics = _scheduler()
    s.job_event(_job("ns", owner_uid="someone-else"), deleted=False)
    assert s.find("ns", "a").jobs == {}  # type: ignore[union-attr]
    assert _foreign(metrics, "Job") == 1


def test_a_job_in_another_namespace_with_the_jobs_uid_is_not_its_run() -> None:
    s, _ = _scheduler()
    s.job_event(_job("org-mallory"), deleted=False)
    assert s.find("ns", "a").jobs == {}  # type: ignore[union-attr]


def test_the_jobs_own_run_is_attached() -> None:
    s, metrics = _scheduler()
    s.job_event(_job("ns"), deleted=False)
    assert list(s.find("ns", "a").jobs) == ["a-202612011200"]  # type: ignore[union-attr]
    assert _foreign(metrics, "Job") == 0
