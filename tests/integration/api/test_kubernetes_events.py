"""A job's Kubernetes Events over REST on the real stack (``GET /jobs/{job_id}/events``,
#24): the facade's field selector finds the Events the API server keeps about the job
(the operator's after a run-now; one written with kubectl in the operator's shape),
newest first; another organisation asking with the job's id gets a 404 and nothing, and
its own job lists none of the first's.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from almanac.core.snapshot import ObjectRef
from almanac.operator.kube import event_body
from tests.integration.api.conftest import Org
from tests.integration.operator_support import module_operator
from tests.support import Kubectl, eventually
from tests.support.operator import OperatorProcess


@pytest.fixture(scope="module")
def operator(crds: Kubectl, tmp_path_factory: pytest.TempPathFactory) -> Iterator[OperatorProcess]:
    with module_operator("job-events", tmp_path_factory) as replica:
        yield replica


def post_event(org: Org, ref: ObjectRef, reason: str, message: str, at: datetime) -> None:
    """An Event written with kubectl, shaped as the operator posts it."""
    body = event_body(ref, reason, message, warning=False, component="kubectl-test", now=at)
    org.kubectl.run("create", "-f", "-", stdin=json.dumps(body))


def job_ref(org: Org, job: dict[str, Any]) -> ObjectRef:
    return ObjectRef(org.namespace, job["resource_name"], job["id"])


def test_a_jobs_events_are_its_own_newest_first_and_no_other_organisations(
    make_org: Any,
) -> None:
    a, b = make_org(), make_org()
    job = a.create(name="Evented", schedule="0 0 1 1 *")
    theirs = b.create(name="B's job", schedule="0 0 1 1 *")
    now = datetime.now(UTC)
    post_event(a, job_ref(a, job), "Older", "written first", now - timedelta(minutes=2))
    post_event(a, job_ref(a, job), "Newer", "written second", now - timedelta(minutes=1))
    # A namesake that was deleted (another uid) lends the job none of its Events.
    namesake = ObjectRef(a.namespace, job["resource_name"], "00000000-0000-4000-8000-000000000000")
    post_event(a, namesake, "Namesake", "about an earlier object", now)

    reply = a.request("GET", f"/jobs/{job['id']}/events")
    assert reply.status_code == 200, reply.text
    # Only this test's: an operator of the stack may report on the job too.
    events = [e for e in reply.json()["data"] if e["source"] == "kubectl-test"]
    assert [(e["reason"], e["message"]) for e in events] == [
        ("Newer", "written second"),
        ("Older", "written first"),
    ]
    assert events[0]["count"] == 1

    probed = b.request("GET", f"/jobs/{job['id']}/events")
    assert probed.status_code == 404, probed.text
    assert "written" not in probed.text
    own = b.request("GET", f"/jobs/{theirs['id']}/events")
    assert own.status_code == 200, own.text
    assert not [e for e in own.json()["data"] if e["source"] == "kubectl-test"]


async def test_the_operators_events_of_a_run_now_are_listed(
    org: Org, operator: OperatorProcess
) -> None:
    job = org.create(name="Run me", schedule="0 0 1 1 *")
    asked = org.request("POST", f"/jobs/{job['id']}/run", headers={"Idempotency-Key": "k1"})
    assert asked.status_code == 202, asked.text

    def run_now_event() -> dict[str, Any] | None:
        data = org.request("GET", f"/jobs/{job['id']}/events").json()["data"]
        return next((e for e in data if e["reason"] == "RunNow"), None)

    event = await eventually(run_now_event, timeout=90, what="the operator's RunNow Event")
    assert event["source"] == "almanac-operator"
    assert event["type"] == "Normal"
    assert asked.json()["run_id"] in event["message"]
