"""Job control through REST with a real operator: pause stops runs and resume restarts
them, run-now runs once per Idempotency-Key, retry runs once per retried run, backfill
asks the operator for past slots, which it runs as the job's overlap policy allows."""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.integration.api.conftest import Org
from tests.integration.operator_support import (
    almanac_jobs,
    condition,
    jobs_at_least,
    script_template,
    slots,
)
from tests.support import Kubectl, consistently, eventually
from tests.support.operator import OperatorProcess


@pytest.fixture(scope="module")
def operator(crds: Kubectl, tmp_path_factory: pytest.TempPathFactory) -> Iterator[OperatorProcess]:
    replica = OperatorProcess(
        "api-suite",
        f"almanac-test-{uuid.uuid4().hex[:6]}",
        "default",
        Path(tmp_path_factory.mktemp("operator")) / "operator.log",
    )
    replica.start()
    try:
        yield replica
    finally:
        replica.stop()


@pytest.fixture
def scripted(org: Org, operator: OperatorProcess) -> Org:
    """The org's namespace, made beforehand with the test script template in it."""
    org.kubectl.apply(
        {
            "apiVersion": "v1",
            "kind": "Namespace",
            "metadata": {
                "name": org.namespace,
                "labels": {
                    "pod-security.kubernetes.io/enforce": "restricted",
                    "almanac.dev/org-id": org.org_id,
                },
            },
        }
    )
    org.kubectl.apply(script_template())
    return org


def _by_trigger(k: Kubectl, name: str, trigger: str) -> list[dict[str, Any]]:
    return [
        j
        for j in almanac_jobs(k, name)
        if j["metadata"]["labels"]["almanac.dev/trigger"] == trigger
    ]


async def test_pause_stops_runs_and_resume_restarts_them(scripted: Org) -> None:
    org, k = scripted, scripted.kubectl
    job = org.create(name="ticker", schedule="@every 5s", type="script", payload={})
    name = job["resource_name"]
    await jobs_at_least(k, name, 1, timeout=120)

    paused = org.request("POST", f"/jobs/{job['id']}/pause", json={"reason": "maintenance"})
    assert paused.json()["status"] == "paused"
    await eventually(
        lambda: (condition(k, name, "Suspended") or {}).get("status") == "True",
        timeout=30,
        what="Suspended condition",
    )
    before = slots(almanac_jobs(k, name))
    await consistently(
        lambda: slots(almanac_jobs(k, name)) == before,
        duration=11,
        interval=1,
        what="no run while paused",
    )

    resumed_at = int(time.time())
    assert org.request("POST", f"/jobs/{job['id']}/resume").json()["status"] == "scheduled"
    after = await eventually(
        lambda: [s for s in slots(almanac_jobs(k, name)) if s not in before],
        timeout=30,
        what="a run after resume",
    )
    assert min(after) >= resumed_at - 1, "resume ran a slot that fell while paused"


async def test_run_now_runs_once_per_idempotency_key(scripted: Org) -> None:
    org, k = scripted, scripted.kubectl
    job = org.create(name="manual", schedule="0 0 1 1 *", type="script", payload={})
    name = job["resource_name"]
    answered = set()
    for _ in range(2):
        reply = org.request("POST", f"/jobs/{job['id']}/run", headers={"Idempotency-Key": "k1"})
        assert reply.status_code == 202
        assert reply.json()["idempotency_key"] == "k1"
        answered.add(reply.json()["run_id"])
    assert len(answered) == 1  # the same key answers with the same run
    await eventually(lambda: len(_by_trigger(k, name, "manual")) == 1, timeout=60, what="run")
    await consistently(
        lambda: len(_by_trigger(k, name, "manual")) == 1, duration=4, what="one run for k1"
    )
    assert {j["metadata"]["name"] for j in _by_trigger(k, name, "manual")} == answered
    # Two keys asked back to back (one pass apart at most) both run: they queue as requests.
    for key in ("k2", "k3"):
        org.request("POST", f"/jobs/{job['id']}/run", headers={"Idempotency-Key": key})
    await eventually(lambda: len(_by_trigger(k, name, "manual")) == 3, timeout=60, what="runs 2, 3")
    bad_key = org.request("POST", f"/jobs/{job['id']}/run", headers={"Idempotency-Key": "a b"})
    assert bad_key.status_code == 400


async def test_run_now_with_a_payload_runs_with_it_once(scripted: Org) -> None:
    org, k = scripted, scripted.kubectl
    job = org.create(name="report", schedule="0 0 1 1 *", type="script", payload={"say": "own"})
    body = {"payload": {"say": "for this run", "exit": 3}}
    reply = org.request(
        "POST", f"/jobs/{job['id']}/run", json=body, headers={"Idempotency-Key": "p1"}
    )
    assert reply.status_code == 202, reply.text
    run_id = reply.json()["run_id"]

    def launched() -> dict[str, str]:
        [made] = _by_trigger(k, job["resource_name"], "manual")
        env = made["spec"]["template"]["spec"]["containers"][0]["env"]
        return {e["name"]: e.get("value", "") for e in env}

    env = await eventually(launched, timeout=60, what="the run with its payload")
    assert json.loads(env["ALMANAC_PARAMS"]) == {"say": "for this run", "exit": 3}
    assert env["ALMANAC_RUN"] == run_id
    other = org.request(
        "POST",
        f"/jobs/{job['id']}/run",
        json={"payload": {"say": "else"}},
        headers={"Idempotency-Key": "p1"},
    )
    assert other.status_code == 409
    refused = org.request("POST", f"/jobs/{job['id']}/run", json={"payload": []})
    assert refused.status_code == 400
    assert org.kubectl.get("scheduledjob", job["resource_name"])["spec"]["params"] == {"say": "own"}


async def test_retry_and_backfill_create_runs(scripted: Org) -> None:
    org, k = scripted, scripted.kubectl
    job = org.create(name="flaky", schedule="0 0 1 1 *", type="script", payload={"exit": 1})
    name = job["resource_name"]
    org.request("POST", f"/jobs/{job['id']}/run", headers={"Idempotency-Key": "first"})
    manual = await eventually(lambda: _by_trigger(k, name, "manual"), timeout=60, what="run")
    run = manual[0]["metadata"]["name"]

    def finished() -> bool:
        conditions = k.get("job", run).get("status", {}).get("conditions") or []
        return any(c["type"] == "Failed" and c["status"] == "True" for c in conditions)

    await eventually(finished, timeout=90, what="the manual run to fail")
    retry = org.request("POST", f"/runs/{run}/retry")
    assert retry.status_code == 202, retry.text
    assert retry.json()["job_id"] == job["id"]
    retried = await eventually(lambda: _by_trigger(k, name, "retry"), timeout=60, what="retry")
    assert [j["metadata"]["name"] for j in retried] == [retry.json()["retry_run_id"]]
    again = org.request("POST", f"/runs/{run}/retry").json()  # the same run: the same attempt
    assert again["retry_run_id"] == retry.json()["retry_run_id"]
    assert org.request("POST", "/runs/no-such-run/retry").status_code == 404

    window = {"start": "2024-01-01T00:00:00Z", "end": "2025-12-31T23:59:59Z"}
    first = org.request("POST", f"/jobs/{job['id']}/backfill", json=window)
    assert first.status_code == 202, first.text
    assert first.json()["created"] == 2
    again = org.request("POST", f"/jobs/{job['id']}/backfill", json=window).json()
    assert (again["created"], again["runs"]) == (0, first.json()["runs"])
    # The facade asked the operator (RunRequests); the operator launches them one at a
    # time, as the job's Forbid policy allows, each after the one before it finished.
    requests = k.list("runrequests")
    assert {r["metadata"]["name"] for r in requests} >= set(first.json()["runs"])
    assert {
        r["spec"]["kind"] for r in requests if r["metadata"]["name"] in first.json()["runs"]
    } == {"backfill"}

    def both_backfilled_runs_failed() -> list[dict[str, Any]]:
        runs = sorted(_by_trigger(k, name, "backfill"), key=lambda j: j["metadata"]["name"])
        assert [j["metadata"]["name"] for j in runs] == sorted(first.json()["runs"])
        assert all(_failed_at(j) for j in runs)
        return runs

    earlier, later = await eventually(
        both_backfilled_runs_failed, timeout=120, what="both backfilled runs to fail"
    )
    assert later["metadata"]["creationTimestamp"] >= _failed_at(earlier)
    org.request("PATCH", f"/jobs/{job['id']}", json={"schedule": "* * * * *"})
    a_day = {"start": "2024-01-01T00:00:00Z", "end": "2024-01-02T00:00:00Z"}
    too_many = org.request("POST", f"/jobs/{job['id']}/backfill", json=a_day)
    assert too_many.status_code == 400
    assert too_many.json()["errors"][0]["field"] == "end"
    backwards = {"start": "2025-01-01T00:00:00Z", "end": "2024-01-01T00:00:00Z"}
    assert org.request("POST", f"/jobs/{job['id']}/backfill", json=backwards).status_code == 400


def _failed_at(job: dict[str, Any]) -> str:
    """When a Job failed (RFC 3339, second precision), or "" while it has not."""
    conditions = job.get("status", {}).get("conditions") or []
    found = [c["lastTransitionTime"] for c in conditions if c["type"] == "Failed"]
    return found[0] if found and found[0] else ""
