"""A run's log over REST: the kept tail after its pod is gone, the pod's while it runs, text
or JSON, with a run read when asked, and nothing of another organisation's runs."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import replace
from typing import Final

import pytest

from almanac.api import encode_identity
from almanac.core.logtail import LogTail
from almanac.core.status import RunPhase
from tests.unit.api.history_app import Facade, facade, job_object
from tests.unit.history.builders import finished, record, running

ORG_A: Final = "000101"
ORG_B: Final = "000202"
UID: Final = "0b6c3a52-1111-4222-8333-944455556666"
KEPT: Final = LogTail(("connecting", "export failed: 502"), truncated=True)


@pytest.fixture
async def app() -> AsyncIterator[Facade]:
    async with facade() as made:
        made.jobs.objects.append(job_object(ORG_A, UID, "nightly"))
        made.jobs.objects.append(job_object(ORG_B, "uid-b", "theirs"))
        yield made


async def test_a_finished_runs_kept_tail_is_read_after_its_pod_is_gone(app: Facade) -> None:
    await app.store.record_run(replace(finished(RunPhase.FAILED, record(run="r1")), log=KEPT))

    reply = await app.get(ORG_A, f"/jobs/{UID}/runs/r1/logs")

    assert reply.status_code == 200, reply.text
    assert reply.json() == {
        "run_id": "r1",
        "lines": ["connecting", "export failed: 502"],
        "truncated": True,
    }


async def test_accept_text_plain_gets_the_lines_as_text(app: Facade) -> None:
    await app.store.record_run(replace(finished(RunPhase.FAILED, record(run="r1")), log=KEPT))
    identity = {"x-rh-identity": encode_identity(ORG_A, username="ann")}
    reply = await app.http.get(
        f"/api/scheduler/v1/jobs/{UID}/runs/r1/logs", headers=identity | {"accept": "text/plain"}
    )
    assert reply.headers["content-type"].startswith("text/plain")
    assert reply.text == "connecting\nexport failed: 502\n"


async def test_a_running_runs_log_is_read_live_from_its_pod(app: Facade) -> None:
    await app.store.record_run(running(record(run="r2")))
    app.jobs.pod_logs[("org-000101", "r2")] = "step 1\nstep 2\n"

    reply = await app.get(ORG_A, f"/jobs/{UID}/runs/r2/logs")

    assert reply.json() == {"run_id": "r2", "lines": ["step 1", "step 2"], "truncated": False}


@pytest.mark.parametrize(
    ("stored", "why"),
    [
        pytest.param(finished(RunPhase.FAILED, record(run="r3")), "no tail was kept", id="ended"),
        pytest.param(running(record(run="r3")), "has not started", id="no-pod-yet"),
        pytest.param(replace(record(run="r3"), phase=RunPhase.SKIPPED), "never ran", id="skipped"),
    ],
)
async def test_a_run_without_a_log_is_a_404_saying_why(
    app: Facade, stored: object, why: str
) -> None:
    await app.store.record_run(stored)  # type: ignore[arg-type]
    reply = await app.get(ORG_A, f"/jobs/{UID}/runs/r3/logs")
    assert reply.status_code == 404
    [error] = reply.json()["errors"]
    assert (error["field"], why in error["message"]) == ("run_id", True)


async def test_include_logs_adds_the_tail_to_a_run_read_and_only_then(app: Facade) -> None:
    await app.store.record_run(replace(finished(RunPhase.FAILED, record(run="r1")), log=KEPT))
    plain = (await app.get(ORG_A, f"/jobs/{UID}/runs/r1")).json()
    assert plain["logs"] is None
    for path in (f"/jobs/{UID}/runs/r1", "/executions/r1", "/runs/r1"):
        read = (await app.get(ORG_A, path, include_logs="true")).json()
        assert read["logs"]["lines"] == ["connecting", "export failed: 502"], path


async def test_another_organisation_gets_no_log_of_a_run_not_even_a_live_one(app: Facade) -> None:
    await app.store.record_run(replace(finished(RunPhase.FAILED, record(run="r1")), log=KEPT))
    await app.store.record_run(running(record(run="r2")))
    app.jobs.pod_logs[("org-000101", "r2")] = "secret step\n"
    for run in ("r1", "r2"):
        assert (await app.get(ORG_B, f"/jobs/{UID}/runs/{run}/logs")).status_code == 404
        assert (await app.get(ORG_B, f"/executions/{run}", include_logs="true")).status_code == 404
    # Control: its own organisation reads both.
    assert (await app.get(ORG_A, f"/jobs/{UID}/runs/r2/logs")).json()["lines"] == ["secret step"]
