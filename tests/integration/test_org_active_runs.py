"""Active runs per organisation are capped by its namespace's ResourceQuota on pods (the
facade gives every organisation namespace one, ``facade.orgNamespaces``): a run over the
cap is not lost, its Job waits until a running pod ends and then runs. Terminated pods do
not count, so the cap is on runs at once, not on runs kept in history."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from tests.integration.operator_support import module_operator, scheduled_job, with_script_template
from tests.support import Kubectl, eventually
from tests.support.operator import OperatorProcess


@pytest.fixture(scope="module")
def operator(crds: Kubectl, tmp_path_factory: pytest.TempPathFactory) -> Iterator[OperatorProcess]:
    with module_operator("active-runs-suite", tmp_path_factory) as replica:
        yield replica


def quota(pods: int) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "ResourceQuota",
        "metadata": {"name": "almanac-org"},
        "spec": {"hard": {"pods": str(pods)}},
    }


def _pods(k: Kubectl) -> dict[str, dict[str, Any]]:
    return {p["metadata"]["labels"]["job-name"]: p for p in k.list("pods")}


def _finished_at(pod: dict[str, Any]) -> str:
    (state,) = pod["status"]["containerStatuses"]
    return str(state["state"]["terminated"]["finishedAt"])


async def test_a_run_over_the_organisations_pod_quota_waits_then_runs(
    crds: Kubectl, operator: OperatorProcess, namespace: str
) -> None:
    k = with_script_template(crds, namespace)
    k.apply(quota(pods=1))
    at = (datetime.now(UTC) + timedelta(seconds=8)).replace(microsecond=0).isoformat()
    for name in ("first", "second"):
        k.apply(scheduled_job(name, schedule={"at": at}, params={"seconds": 6}))

    def both_succeeded() -> dict[str, dict[str, Any]]:
        pods = _pods(k)
        assert len(pods) == 2
        assert all(p["status"]["phase"] == "Succeeded" for p in pods.values())
        return pods

    pods = await eventually(both_succeeded, timeout=150, what="both runs to succeed")
    earlier, later = sorted(pods.values(), key=lambda p: p["metadata"]["creationTimestamp"])
    # Never two at once: the second pod was created only after the first had ended.
    assert later["metadata"]["creationTimestamp"] >= _finished_at(earlier)
    refusals = [
        e
        for e in k.list("events")
        if e["reason"] == "FailedCreate" and "exceeded quota" in e["message"]
    ]
    assert refusals, "the Job controller never met the quota"
