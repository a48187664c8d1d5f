"""Dead letters, skipped slots and timeouts through REST with a real operator (#21 item 4,
Done-when "a dead-lettered run re-queued and succeeding"): a command run out of retries is
dead-lettered, listed, fixed and requeued, and its new run completes; another
organisation does not see the letter; a paused every-5s job's slots show as skipped rows
with the reason; a run past its ``timeout_seconds`` shows ``timeout``."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from tests.integration.api.conftest import Org
from tests.integration.operator_support import module_operator
from tests.support import Kubectl, eventually
from tests.support.operator import OperatorProcess

#: Retries after one second, once: the second attempt is the last.
ONE_RETRY = {"max_retries": 1, "initial_delay_seconds": 1, "max_delay_seconds": 1}


@pytest.fixture(scope="module")
def operator(crds: Kubectl, tmp_path_factory: pytest.TempPathFactory) -> Iterator[OperatorProcess]:
    with module_operator("dead-letters", tmp_path_factory) as replica:
        yield replica


def _letters(org: Org, **params: Any) -> list[dict[str, Any]]:
    reply = org.request("GET", "/dead-letters", params=params)
    assert reply.status_code == 200, reply.text
    data: list[dict[str, Any]] = reply.json()["data"]
    return data


def _runs(org: Org, job_id: str, status: str) -> list[dict[str, Any]]:
    reply = org.request("GET", f"/jobs/{job_id}/runs", params={"status": status})
    assert reply.status_code == 200, reply.text
    data: list[dict[str, Any]] = reply.json()["data"]
    return data


async def test_a_run_out_of_retries_is_dead_lettered_then_requeued_and_completes(
    org: Org, make_org: Any, operator: OperatorProcess
) -> None:
    job = org.create(
        name="doomed",
        schedule="0 0 1 1 *",
        payload={"command": ["false"]},
        retry_policy=ONE_RETRY,
    )
    started = org.request("POST", f"/jobs/{job['id']}/run", headers={"Idempotency-Key": "once"})
    assert started.status_code == 202, started.text

    def dead_letter() -> dict[str, Any]:
        letters = _letters(org, job_id=job["id"], kind="run")
        assert letters, "no dead letter yet"
        return letters[0]

    letter = await eventually(dead_letter, timeout=240, what="the run's dead letter")
    assert (letter["status"], letter["requeued_run_id"]) == ("waiting", None)
    dead = org.request("GET", f"/executions/{letter['run_id']}").json()
    assert (dead["status"], dead["attempt"]) == ("dead_lettered", 2)
    assert dead["error_message"] == letter["reason"]
    assert [r["id"] for r in _runs(org, job["id"], "dead_lettered")] == [letter["run_id"]]
    stranger = make_org()
    assert stranger.request("GET", f"/dead-letters/{letter['id']}").status_code == 404
    assert stranger.request("POST", f"/dead-letters/{letter['id']}/requeue").status_code == 404

    # A requeue runs one more attempt with the job's current spec: fix the job first.
    fixed = org.request("PATCH", f"/jobs/{job['id']}", json={"payload": {"command": ["true"]}})
    assert fixed.status_code == 200, fixed.text
    requeued = org.request("POST", f"/dead-letters/{letter['id']}/requeue")
    assert requeued.status_code == 202, requeued.text
    run_id = requeued.json()["requeued_run_id"]
    again = org.request("POST", f"/dead-letters/{letter['id']}/requeue")
    assert again.json()["requeued_run_id"] == run_id

    def completed() -> bool:
        reply = org.http.get(requeued.headers["location"])
        assert reply.status_code == 200, reply.text
        assert reply.json()["status"] == "completed", reply.json()
        return True

    await eventually(completed, timeout=240, what="the requeued run to complete")
    marked = org.request("GET", f"/dead-letters/{letter['id']}").json()
    assert (marked["status"], marked["requeued_run_id"]) == ("requeued", run_id)


async def test_a_paused_jobs_slots_are_skipped_rows_with_the_reason(
    org: Org, operator: OperatorProcess
) -> None:
    job = org.create(name="frozen", schedule="@every 5s", status="paused")

    def skipped() -> list[dict[str, Any]]:
        rows = _runs(org, job["id"], "skipped")
        assert len(rows) >= 2, rows
        return rows

    rows = await eventually(skipped, timeout=120, what="two skipped rows")
    assert {(r["reason"], r["trigger"], r["start_time"]) for r in rows} == {
        ("suspended", "schedule", None)
    }
    assert _runs(org, job["id"], "completed") == []


async def test_a_run_past_its_timeout_shows_timeout(org: Org, operator: OperatorProcess) -> None:
    job = org.create(
        name="slow", schedule="0 0 1 1 *", payload={"command": ["sleep", "30"]}, timeout_seconds=2
    )
    started = org.request("POST", f"/jobs/{job['id']}/run", headers={"Idempotency-Key": "slow"})
    assert started.status_code == 202, started.text

    def timed_out() -> dict[str, Any]:
        reply = org.http.get(started.headers["location"])
        assert reply.status_code == 200, reply.text
        assert reply.json()["status"] == "timeout", reply.json()
        run: dict[str, Any] = reply.json()
        return run

    run = await eventually(timed_out, timeout=180, what="the run to time out")
    assert run["reason"] == "timeout"
    assert [r["id"] for r in _runs(org, job["id"], "timeout")] == [run["id"]]
    assert _runs(org, job["id"], "failed") == []
    stats = org.request("GET", f"/jobs/{job['id']}/stats").json()
    assert (stats["failed"], stats["timeouts"]) == (1, 1)
