"""Runs and stats come from Postgres, scoped to the caller's namespace; two
organisations probing each other's ids, names and runs learn nothing."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from almanac.core.status import RunPhase
from almanac.history import PostgresRunStore, RunRecord
from tests.integration.api.conftest import Org, history_run

T0 = datetime(2026, 11, 1, 2, 0, tzinfo=UTC)


def _run(org: Org, job: dict[str, Any], n: int, phase: RunPhase, **extra: Any) -> RunRecord:
    return history_run(org, job, T0 + timedelta(hours=n), phase, seconds=n + 1, **extra)


async def test_runs_and_stats_come_from_the_history(org: Org, store: PostgresRunStore) -> None:
    job = org.create(name="reported")
    runs = [
        _run(org, job, 0, RunPhase.SUCCEEDED, result={"status": "ok", "summary": "done"}),
        _run(org, job, 1, RunPhase.FAILED, error="exit 1"),
        _run(org, job, 2, RunPhase.RUNNING),
    ]
    for record in runs:
        await store.record_run(record)

    listed = org.request("GET", f"/jobs/{job['id']}/runs").json()
    assert [r["status"] for r in listed["data"]] == ["running", "failed", "completed"]
    assert listed["meta"]["count"] == 3
    failed = org.request("GET", f"/jobs/{job['id']}/runs", params={"status": "failed"}).json()
    assert [r["error_message"] for r in failed["data"]] == ["exit 1"]
    page = org.request("GET", f"/jobs/{job['id']}/runs", params={"limit": 1, "offset": 2}).json()
    assert [r["id"] for r in page["data"]] == [runs[0].run_name]
    runs_path = f"/api/scheduler/v1/jobs/{job['id']}/runs"
    assert page["meta"] == {
        "count": 3,
        "limit": 1,
        "offset": 2,
        "next": None,
        "previous": f"{runs_path}?limit=1&offset=1",
    }

    one = org.request("GET", f"/jobs/{job['id']}/runs/{runs[0].run_name}").json()
    assert one["result"] == {"status": "ok", "summary": "done"}
    assert (one["job_id"], one["trigger"], one["attempt"]) == (job["id"], "schedule", 1)
    assert org.request("GET", f"/jobs/{job['id']}/runs/nope").status_code == 404

    stats = org.request("GET", f"/jobs/{job['id']}/stats").json()
    assert (stats["total"], stats["succeeded"], stats["failed"]) == (3, 1, 1)
    assert stats["success_rate"] == 0.5
    assert stats["top_errors"][0]["error"] == "exit 1"


async def test_two_organisations_see_nothing_of_each_other(
    make_org: Any, store: PostgresRunStore
) -> None:
    alice, bob = make_org("alice"), make_org("bob")
    secret = alice.create(name="secret", schedule="@every 1h")
    bob.create(name="bobs")
    record = _run(alice, secret, 0, RunPhase.FAILED, error="boom")
    await store.record_run(record)

    def probes(job_id: str, run: str) -> list[tuple[str, str, Any]]:
        return [
            ("GET", f"/jobs/{job_id}", None),
            ("PUT", f"/jobs/{job_id}", {"name": "x", "schedule": "0 0 * * *", "type": "command"}),
            ("PATCH", f"/jobs/{job_id}", {"name": "mine now"}),
            ("DELETE", f"/jobs/{job_id}", None),
            ("POST", f"/jobs/{job_id}/run", None),
            ("POST", f"/jobs/{job_id}/pause", None),
            ("POST", f"/jobs/{job_id}/resume", None),
            (
                "POST",
                f"/jobs/{job_id}/backfill",
                {"start": "2026-11-01T00:00:00Z", "end": "2026-11-01T01:00:00Z"},
            ),
            ("GET", f"/jobs/{job_id}/runs", None),
            ("GET", f"/jobs/{job_id}/runs/{run}", None),
            ("GET", f"/jobs/{job_id}/stats", None),
            ("GET", f"/jobs/{job_id}/next", None),
            ("POST", f"/runs/{run}/retry", None),
            ("GET", f"/executions/{run}", None),
            ("GET", f"/runs/{run}", None),
        ]

    # Alice's id and run answer Bob exactly as ids and runs that exist nowhere do.
    real = probes(secret["id"], record.run_name)
    made_up = probes("00000000-0000-0000-0000-000000000000", "secret-00000-202611010200")
    for (method, path, body), (_, other_path, _) in zip(real, made_up, strict=True):
        reply = bob.request(method, path, json=body)
        nowhere = bob.request(method, other_path, json=body)
        assert reply.status_code == nowhere.status_code == 404, (method, path, reply.text)
        probe_ids = (secret["id"], record.run_name)
        made_ids = ("00000000-0000-0000-0000-000000000000", "secret-00000-202611010200")
        text = reply.text
        for mine, other in zip(probe_ids, made_ids, strict=True):
            text = text.replace(mine, other)
        assert text == nowhere.text
        assert alice.namespace not in reply.text

    # Bob's run-now and backfill of Alice's job asked the operator for nothing there.
    assert alice.kubectl.list("runrequests") == []
    assert bob.request("GET", "/jobs", params={"name": "secret"}).json()["data"] == []
    assert [j["name"] for j in bob.request("GET", "/jobs").json()["data"]] == ["bobs"]
    mine = alice.request("GET", f"/jobs/{secret['id']}").json()
    assert (mine["name"], mine["status"]) == ("secret", "scheduled")
    runs = alice.request("GET", f"/jobs/{secret['id']}/runs").json()["data"]
    assert [r["id"] for r in runs] == [record.run_name]
    # Her own retry of that run (its Job long pruned: history only) is accepted, once.
    retry = alice.request("POST", f"/runs/{record.run_name}/retry")
    assert retry.status_code == 202, retry.text
    again = alice.request("POST", f"/runs/{record.run_name}/retry").json()
    assert again["retry_run_id"] == retry.json()["retry_run_id"] == f"{record.run_name}-r1-a2"
    [asked] = alice.kubectl.list("runrequests")
    assert (asked["spec"]["kind"], asked["spec"]["retryOf"]) == ("retry", record.run_name)
