"""Run logs on the real stack (#22 item 1): a job failing every 5 s whose Jobs are pruned
at once; each run's log tail is read over REST after its pod is gone, bounded, with the
newest lines; another organisation reads nothing of it."""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import Any

import pytest

from tests.integration.api.conftest import Org
from tests.integration.operator_support import module_operator
from tests.support import Kubectl, eventually
from tests.support.operator import OperatorProcess

#: 300 lines on stdout, then a failure: more than the 200 lines the operator keeps.
PRINTER = "import sys\nfor i in range(300):\n    print(f'line {i}')\nsys.exit(3)"


@pytest.fixture(scope="module")
def operator(crds: Kubectl, tmp_path_factory: pytest.TempPathFactory) -> Iterator[OperatorProcess]:
    with module_operator("run-logs", tmp_path_factory) as replica:
        yield replica


@pytest.fixture
def printing(org: Org, operator: OperatorProcess) -> Org:
    """The org's namespace with a template whose runs print 300 lines and fail."""
    labels = {"pod-security.kubernetes.io/enforce": "restricted", "almanac.dev/org-id": org.org_id}
    org.kubectl.apply(
        {
            "apiVersion": "v1",
            "kind": "Namespace",
            "metadata": {"name": org.namespace, "labels": labels},
        }
    )
    org.kubectl.apply(
        {
            "apiVersion": "almanac.dev/v1alpha1",
            "kind": "JobTemplate",
            "metadata": {"name": "printer"},
            "spec": {"image": os.environ["ALMANAC_IMAGE"], "command": ["python3", "-c", PRINTER]},
        }
    )
    return org


async def test_a_failed_runs_log_is_read_over_rest_after_its_job_was_pruned(
    printing: Org, make_org: Any
) -> None:
    org = printing
    job = org.create(
        name="printer",
        type="printer",
        schedule="@every 5s",
        payload={},
        history_limits={"successful": 0, "failed": 0},
    )

    def failed_run() -> str:
        runs = org.request("GET", f"/jobs/{job['id']}/runs", params={"status": "failed"}).json()
        assert runs["data"], "no failed run yet"
        run_id: str = runs["data"][-1]["id"]
        return run_id

    run_id = await eventually(failed_run, timeout=120, what="a failed run in the history")

    def pruned() -> bool:
        jobs = org.kubectl.list("jobs", f"job-name={run_id}")
        pods = org.kubectl.list("pods", f"job-name={run_id}")
        return not jobs and not pods

    await eventually(pruned, timeout=120, what=f"{run_id}'s Job and pod pruned")
    org.request("POST", f"/jobs/{job['id']}/pause")

    reply = org.request("GET", f"/jobs/{job['id']}/runs/{run_id}/logs")
    assert reply.status_code == 200, reply.text
    logs = reply.json()
    assert logs["run_id"] == run_id
    assert logs["truncated"] is True
    assert logs["lines"] == [f"line {i}" for i in range(100, 300)]
    text = org.request(
        "GET", f"/jobs/{job['id']}/runs/{run_id}/logs", headers={"accept": "text/plain"}
    )
    assert text.text.endswith("line 298\nline 299\n")
    with_logs = org.request("GET", f"/executions/{run_id}", params={"include_logs": "true"})
    assert with_logs.json()["logs"]["lines"][-1] == "line 299"
    # Another organisation: the same 404 as a run that exists nowhere.
    stranger = make_org("mallory")
    stranger.create(name="own")
    refused = stranger.request("GET", f"/jobs/{job['id']}/runs/{run_id}/logs")
    assert refused.status_code == 404
    assert (
        stranger.request(
            "GET", f"/executions/{run_id}", params={"include_logs": "true"}
        ).status_code
        == 404
    )
