"""Launch limits on the real stack (#22 item 4), with an operator whose namespace limit is
2: three runs due at once start two and queue the third as a suspended, marked Job (seen
in status, an Event, REST and ``GET /queue``), which starts once a run ends; the higher
PriorityClass leaves the queue first; ``maxConcurrentRuns: 1`` under ``Allow`` never has
two runs active; another organisation sees nothing of the queue (its owner does)."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from tests.integration.api.conftest import (  # noqa: F401 - facade, make_org: fixtures
    Org,
    facade,
    make_org,
)
from tests.integration.operator_support import (
    almanac_jobs,
    module_operator,
    scheduled_job,
    script_template,
    status,
    with_script_template,
)
from tests.support import Kubectl, consistently, eventually
from tests.support.operator import OperatorProcess

LIMIT = 2
QUEUED = "almanac.dev/queued"
REASON = "almanac.dev/queued-reason"
#: Pods start within seconds here; the margins cover a loaded node and the operator's list.
STARTS_WITHIN = 90.0


@pytest.fixture(scope="module")
def operator(crds: Kubectl, tmp_path_factory: pytest.TempPathFactory) -> Iterator[OperatorProcess]:
    env = {"ALMANAC_MAX_ACTIVE_RUNS_PER_NAMESPACE": str(LIMIT)}
    with module_operator("limits-suite", tmp_path_factory, env=env) as replica:
        yield replica


@pytest.fixture
def k(crds: Kubectl, operator: OperatorProcess, namespace: str) -> Kubectl:
    return with_script_template(crds, namespace)


@pytest.fixture
def classes(kubectl: Kubectl) -> Iterator[tuple[str, str]]:
    """Two PriorityClasses of this test (low 10, high 1000), deleted after it."""
    suffix = uuid.uuid4().hex[:6]
    low, high = f"almanac-test-low-{suffix}", f"almanac-test-high-{suffix}"
    for name, value in ((low, 10), (high, 1000)):
        kubectl.apply(
            {
                "apiVersion": "scheduling.k8s.io/v1",
                "kind": "PriorityClass",
                "metadata": {"name": name},
                "value": value,
                "preemptionPolicy": "Never",
                "description": "an Almanac integration test's",
            }
        )
    try:
        yield low, high
    finally:
        kubectl.run("delete", "priorityclass", low, high, "--ignore-not-found")


def soon(seconds: int = 10) -> str:
    return (datetime.now(UTC) + timedelta(seconds=seconds)).replace(microsecond=0).isoformat()


def job_of(k: Kubectl, name: str) -> dict[str, Any] | None:
    jobs = almanac_jobs(k, name)
    return jobs[0] if jobs else None


def queued(job: dict[str, Any] | None) -> bool:
    return bool(
        job
        and job["spec"].get("suspend") is True
        and job["metadata"]["labels"].get(QUEUED) == "true"
    )


def started(job: dict[str, Any] | None) -> bool:
    return bool(job and not job["spec"].get("suspend") and job.get("status", {}).get("startTime"))


def active_jobs(k: Kubectl, name: str) -> list[dict[str, Any]]:
    """Jobs of ``name`` neither suspended nor finished."""
    done = ("Complete", "Failed", "SuccessCriteriaMet", "FailureTarget")
    return [
        j
        for j in almanac_jobs(k, name)
        if not j["spec"].get("suspend")
        and not any(
            c["type"] in done and c["status"] == "True"
            for c in (j.get("status") or {}).get("conditions") or []
        )
    ]


def events(k: Kubectl, name: str, reason: str) -> list[dict[str, Any]]:
    selector = f"involvedObject.name={name},reason={reason}"
    return list(
        json.loads(k.run("get", "events", "--field-selector", selector, "-o", "json"))["items"]
    )


def org_namespace(who: Org) -> Kubectl:
    """The organisation's namespace, labelled as the facade labels it, with the script
    template (jobs are written with kubectl: the runs' length comes from params)."""
    labels = {"pod-security.kubernetes.io/enforce": "restricted", "almanac.dev/org-id": who.org_id}
    namespace = {"apiVersion": "v1", "kind": "Namespace"}
    who.kubectl.apply(namespace | {"metadata": {"name": who.namespace, "labels": labels}})
    who.kubectl.apply(script_template())
    return who.kubectl


async def test_a_third_run_waits_in_the_queue_and_starts_when_one_ends(
    operator: OperatorProcess,
    make_org: Any,  # noqa: F811 - the fixture imported above
) -> None:
    alice, bob = make_org("alice"), make_org("bob")
    k = org_namespace(alice)
    at = soon()
    # Two runs of 20 s take the namespace's two places; the third (due with them) waits.
    for name, seconds in (("first", 20), ("second", 40), ("third", 1)):
        k.apply(scheduled_job(name, schedule={"at": at}, params={"seconds": seconds}))

    def two_running_one_queued() -> dict[str, dict[str, Any]]:
        jobs = {name: job_of(k, name) for name in ("first", "second", "third")}
        assert all(jobs.values()), "not every Job created yet"
        waiting = [name for name, job in jobs.items() if queued(job)]
        assert len(waiting) == 1, waiting
        return {name: job for name, job in jobs.items() if job}

    jobs = await eventually(two_running_one_queued, timeout=STARTS_WITHIN, what="one run queued")
    [waiting] = [name for name, job in jobs.items() if queued(job)]
    held = jobs[waiting]
    assert held["metadata"]["annotations"][REASON] == "namespace"
    assert not k.list("pods", f"job-name={held['metadata']['name']}")  # no pod while queued
    listed = k.list("jobs", f"{QUEUED}=true")
    assert [j["metadata"]["name"] for j in listed] == [held["metadata"]["name"]]

    def queued_in_status() -> dict[str, Any]:
        current = status(k, waiting)
        assert current.get("queuedCount") == 1, current
        return current

    current = await eventually(queued_in_status, timeout=30, what="queuedCount in status")
    [entry] = current["active"]
    assert (entry["queued"], entry["queueReason"]) == (True, "namespace")
    assert "startTime" not in entry
    [event] = await eventually(lambda: events(k, waiting, "Queued"), timeout=30, what="Queued")
    assert "namespace limit" in event["message"]

    # REST: the run reads queued, GET /queue lists it; another organisation sees nothing.
    uid = k.get("scheduledjob", waiting)["metadata"]["uid"]
    run_id = held["metadata"]["name"]

    def queued_over_rest() -> dict[str, Any]:
        reply = alice.request("GET", f"/executions/{run_id}")
        assert reply.status_code == 200, reply.text
        run: dict[str, Any] = reply.json()
        assert run["status"] == "queued", run
        return run

    run = await eventually(queued_over_rest, timeout=30, what="the run queued over REST")
    assert run["reason"] == "queued:namespace"
    queue = alice.request("GET", "/queue").json()
    assert [(r["run_id"], r["job_id"], r["position"], r["reason"]) for r in queue["data"]] == [
        (run_id, uid, 1, "namespace")
    ]
    assert bob.request("GET", "/queue").json()["data"] == []
    assert bob.request("GET", f"/executions/{run_id}").status_code == 404
    assert bob.request("GET", "/queue", params={"job_id": uid}).json()["data"] == []

    # The shorter run ends: the queued one starts, its start after its creation.
    def released() -> dict[str, Any]:
        job = job_of(k, waiting)
        assert started(job), job and job["spec"].get("suspend")
        assert job is not None
        return job

    job = await eventually(released, timeout=STARTS_WITHIN, what=f"{waiting} released")
    assert QUEUED not in job["metadata"]["labels"]
    assert job["status"]["startTime"] > job["metadata"]["creationTimestamp"]
    await eventually(lambda: events(k, waiting, "Dequeued"), timeout=30, what="Dequeued")
    assert alice.request("GET", "/queue").json()["data"] == []


async def test_the_higher_priority_class_leaves_the_queue_first(
    k: Kubectl, classes: tuple[str, str]
) -> None:
    low, high = classes
    at = soon()
    # 15 s and 90 s runs fill the two places; when the shorter ends, one place frees.
    k.apply(scheduled_job("short", schedule={"at": at}, params={"seconds": 15}))
    k.apply(scheduled_job("long", schedule={"at": at}, params={"seconds": 90}))
    later = soon(14)
    k.apply(scheduled_job("low", schedule={"at": later}, params={"seconds": 1}, priority=low))
    k.apply(scheduled_job("high", schedule={"at": later}, params={"seconds": 1}, priority=high))

    def both_queued() -> bool:
        return queued(job_of(k, "low")) and queued(job_of(k, "high"))

    await eventually(both_queued, timeout=STARTS_WITHIN, what="low and high queued")
    high_job = job_of(k, "high")
    assert high_job is not None
    assert high_job["spec"]["template"]["spec"]["priorityClassName"] == high
    assert high_job["metadata"]["annotations"]["almanac.dev/priority"] == "1000"

    def one_released() -> bool:
        return not queued(job_of(k, "high"))

    await eventually(one_released, timeout=STARTS_WITHIN, what="a place freed and high released")
    assert queued(job_of(k, "low")), "low left the queue beside or before high"
    k.run("delete", "scheduledjob", "long", "--wait=false")  # its Job goes: low's turn
    await eventually(lambda: not queued(job_of(k, "low")), timeout=STARTS_WITHIN, what="low")


async def test_max_concurrent_runs_under_allow_never_runs_two_at_once(k: Kubectl) -> None:
    k.apply(
        scheduled_job(
            "serial",
            schedule={"every": "5s"},
            params={"seconds": 12},
            overlapPolicy="Allow",
            maxConcurrentRuns=1,
        )
    )

    def one_queued_by_its_own_limit() -> bool:
        return any(
            queued(j) and j["metadata"]["annotations"][REASON] == "maxConcurrentRuns"
            for j in almanac_jobs(k, "serial")
        )

    await eventually(one_queued_by_its_own_limit, timeout=STARTS_WITHIN, what="a run queued")
    await consistently(
        lambda: len(active_jobs(k, "serial")) <= 1, duration=20, what="one run active at most"
    )
    k.run("delete", "scheduledjob", "serial", "--wait=false")
