"""A RunRequest forged in another namespace with a victim's uid launches nothing; the
control (a request in the victim's own namespace, owned by its ScheduledJob) launches.

Before ownership was checked, the operator attached Jobs and RunRequests to a ScheduledJob
by the ``almanac.dev/scheduledjob-uid`` label alone, so the forged request below ran the
victim's job with the attacker's params."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest

from almanac.core.runrequests import EventSource, RunRequestSpec, run_request_body
from tests.integration.operator_support import (
    almanac_jobs,
    module_operator,
    scheduled_job,
    with_script_template,
)
from tests.support import Kubectl, eventually
from tests.support.operator import OperatorProcess
from tests.support.waiting import consistently


@pytest.fixture(scope="module")
def operator(crds: Kubectl, tmp_path_factory: pytest.TempPathFactory) -> Iterator[OperatorProcess]:
    group = {"ALMANAC_TRIGGER_GROUP": f"own-group-{uuid.uuid4().hex[:8]}"}
    with module_operator("ownership-suite", tmp_path_factory, env=group) as replica:
        yield replica


@pytest.fixture
def attacker(kubectl: Kubectl) -> Iterator[Kubectl]:
    name = f"t-mallory-{uuid.uuid4().hex[:8]}"
    kubectl.run("create", "namespace", name)
    try:
        yield kubectl.in_namespace(name)
    finally:
        kubectl.run("delete", "namespace", name, "--wait=false")


def _request(name: str, namespace: str, owner_uid: str, say: str) -> dict[str, Any]:
    spec = RunRequestSpec(
        scheduled_job="victim",
        trigger="tickets",
        kind="event",
        due_time=datetime.now(UTC),
        params={"say": say},
        source=EventSource(id=name, topic="tickets", partition=0, offset=0),
    )
    return run_request_body(
        name=name, namespace=namespace, owner="victim", owner_uid=owner_uid, spec=spec
    )


async def test_a_runrequest_forged_in_another_namespace_launches_nothing(
    crds: Kubectl, operator: OperatorProcess, namespace: str, attacker: Kubectl
) -> None:
    victim = with_script_template(crds, namespace)
    topic = f"t-own-{uuid.uuid4().hex[:8]}"
    victim.apply(scheduled_job("victim", triggers=[{"name": "tickets", "kafka": {"topic": topic}}]))
    uid = victim.get("scheduledjob", "victim")["metadata"]["uid"]

    attacker.apply(_request("forged", str(attacker.namespace), uid, "pwned"))
    victim.apply(_request("genuine", namespace, uid, "hello"))  # the control

    jobs = await eventually(
        lambda: almanac_jobs(victim, "victim"), timeout=60, what="the genuine request's Job"
    )
    assert [j["metadata"]["labels"].get("almanac.dev/run-request") for j in jobs] == ["genuine"]

    def only_the_genuine_run() -> bool:
        assert len(almanac_jobs(victim, "victim")) == 1
        assert attacker.list("jobs") == []
        return True

    await consistently(only_the_genuine_run, duration=8)
