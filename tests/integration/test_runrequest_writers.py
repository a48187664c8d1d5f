"""Only Almanac writes RunRequests: a user whom RBAC lets create one is still refused by
the webhook, because a RunRequest launches its ScheduledJob's run with the params it
carries. The control: the operator's own user (here the test's, as in ``make dev``) writes
the same request and it is stored."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from almanac.core.runrequests import EventSource, RunRequestSpec, run_request_body
from tests.integration.admission import apply, refusal
from tests.support import Kubectl


def _request(name: str, namespace: str, owner_uid: str) -> dict[str, Any]:
    spec = RunRequestSpec(
        scheduled_job="victim",
        trigger="tickets",
        kind="event",
        due_time=datetime.now(UTC),
        params={"url": "https://attacker.example/steal"},
        source=EventSource(id=name, topic="tickets"),
    )
    return run_request_body(
        name=name, namespace=namespace, owner="victim", owner_uid=owner_uid, spec=spec
    )


async def test_a_runrequest_from_a_user_with_rbac_rights_is_refused(guarded: Kubectl) -> None:
    k = guarded
    namespace = str(k.namespace)
    await apply(k, {**_victim(), "metadata": {"name": "victim"}})
    uid = k.get("scheduledjob", "victim")["metadata"]["uid"]

    # mallory is impersonated with system:masters: RBAC lets her create anything.
    refused = await refusal(k, _request("forged", namespace, uid), user="mallory")
    assert "written only by the Almanac operator and the REST facade, not by mallory" in refused
    assert "almanac.dev/run-now" in refused  # what to do instead
    assert k.list("runrequests") == []

    await apply(k, _request("genuine", namespace, uid))  # the operator's user: stored
    assert [r["metadata"]["name"] for r in k.list("runrequests")] == ["genuine"]


def _victim() -> dict[str, Any]:
    return {
        "apiVersion": "almanac.dev/v1alpha1",
        "kind": "ScheduledJob",
        "spec": {
            "template": "http",
            "params": {"url": "https://example.com/"},
            "triggers": [{"name": "tickets", "kafka": {"topic": "tickets"}}],
        },
    }
