"""Job lifecycle and run events on the stack's Kafka, with a real operator and facade.

A job created, patched, paused and resumed through REST, cancelled with kubectl and
deleted through REST is announced once per change (``almanac.job.*``) on the operator's
events topic, each naming the namespace and organisation (in ``data`` and in the
``almanac-namespace`` header); a job failing both of its two attempts says
``will_retry: true`` on the first failure and ``false`` on the last; and two
organisations' events each name their own namespace and organisation only.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import AsyncIterator, Iterator
from typing import Any

import pytest
from aiokafka import AIOKafkaConsumer

from almanac.core.kafkanames import NAMESPACE_HEADER
from almanac.core.vocabulary import ANNOTATION_CANCELLED, ANNOTATION_RUN_NOW, LABEL_ORG_ID
from tests.integration.api.conftest import Org
from tests.integration.operator_support import module_operator, scheduled_job, script_template
from tests.support import Kubectl, eventually
from tests.support.kafka import reading
from tests.support.operator import OperatorProcess

#: The job actions in the order the lifecycle test makes them.
LIFECYCLE = ["created", "updated", "paused", "resumed", "cancelled", "deleted"]


@pytest.fixture(scope="module")
def events_topic() -> str:
    return f"t-job-events-{uuid.uuid4().hex[:8]}"


@pytest.fixture(scope="module")
def operator(
    crds: Kubectl, events_topic: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[OperatorProcess]:
    env = {"ALMANAC_EVENTS_TOPIC": events_topic, "ALMANAC_NOTIFY_TOPIC": f"{events_topic}-n"}
    with module_operator("job-events-suite", tmp_path_factory, env=env) as replica:
        yield replica


@pytest.fixture
async def consumer(stack: dict[str, str], events_topic: str) -> AsyncIterator[AIOKafkaConsumer]:
    async with reading(stack["ALMANAC_KAFKA_BOOTSTRAP"], events_topic) as c:
        yield c


class Tap:
    """Every event read from the topic so far, with its ``almanac-namespace`` header."""

    def __init__(self, consumer: AIOKafkaConsumer) -> None:
        self.consumer = consumer
        self.seen: list[tuple[dict[str, Any], bytes | None]] = []

    async def read(self) -> None:
        for records in (await self.consumer.getmany(timeout_ms=500)).values():
            for record in records:
                headers = dict(record.headers)
                self.seen.append((json.loads(record.value), headers.get(NAMESPACE_HEADER)))

    def of(self, job_id: str, prefix: str) -> list[tuple[dict[str, Any], bytes | None]]:
        """Events of one job whose type starts with ``prefix``, one per id, in order."""
        found: dict[str, tuple[dict[str, Any], bytes | None]] = {}
        for event, header in self.seen:
            if event["data"].get("job_id") == job_id and event["type"].startswith(prefix):
                found.setdefault(event["id"], (event, header))
        return list(found.values())

    async def until(self, job_id: str, prefix: str, count: int) -> list[dict[str, Any]]:
        async def enough() -> list[tuple[dict[str, Any], bytes | None]] | None:
            await self.read()
            events = self.of(job_id, prefix)
            return events if len(events) >= count else None

        found = await eventually(
            enough, timeout=120, interval=0, what=f"{count} {prefix}* events of {job_id}"
        )
        for event, header in found:
            assert header == event["data"]["namespace"].encode(), "header and data disagree"
        return [event for event, _ in found]


@pytest.fixture
def tap(consumer: AIOKafkaConsumer) -> Tap:
    return Tap(consumer)


def labelled(org: Org) -> Org:
    """The org's namespace made beforehand, labelled with its organisation, with the test
    script template in it (the facade would make the namespace on first use as well)."""
    org.kubectl.apply(
        {
            "apiVersion": "v1",
            "kind": "Namespace",
            "metadata": {
                "name": org.namespace,
                "labels": {
                    "pod-security.kubernetes.io/enforce": "restricted",
                    LABEL_ORG_ID: org.org_id,
                },
            },
        }
    )
    org.kubectl.apply(script_template())
    return org


async def test_a_jobs_lifecycle_is_announced_once_per_change_with_namespace_and_org(
    org: Org, operator: OperatorProcess, tap: Tap
) -> None:
    org = labelled(org)
    job = org.create(name="Lifecycle", schedule="0 0 1 1 *", type="script", payload={})
    job_id, name = job["id"], job["resource_name"]
    await tap.until(job_id, "almanac.job.", 1)

    patched = org.request("PATCH", f"/jobs/{job_id}", json={"schedule": "0 1 1 1 *"})
    assert patched.status_code == 200, patched.text
    await tap.until(job_id, "almanac.job.", 2)
    paused = org.request("POST", f"/jobs/{job_id}/pause", json={"reason": "maintenance"})
    assert paused.status_code == 200, paused.text
    await tap.until(job_id, "almanac.job.", 3)
    resumed = org.request("POST", f"/jobs/{job_id}/resume")
    assert resumed.status_code == 200, resumed.text
    await tap.until(job_id, "almanac.job.", 4)
    cancel = {
        "metadata": {"annotations": {ANNOTATION_CANCELLED: "2026-03-01T12:00:00Z"}},
        "spec": {"suspend": True},
    }
    org.kubectl.run("patch", "scheduledjob", name, "--type", "merge", "-p", json.dumps(cancel))
    await tap.until(job_id, "almanac.job.", 5)
    assert org.request("DELETE", f"/jobs/{job_id}").status_code == 204

    events = await tap.until(job_id, "almanac.job.", 6)

    assert [e["type"] for e in events] == [f"almanac.job.{a}" for a in LIFECYCLE]
    for event in events:
        data = event["data"]
        assert (data["namespace"], data["org_id"]) == (org.namespace, org.org_id)
        assert (data["job_name"], data["display_name"]) == (name, "Lifecycle")
        assert event["source"].endswith(f"/namespaces/{org.namespace}/scheduledjobs/{name}")
    assert [e["data"]["actor"] for e in events][:4] == ["jdoe"] * 4
    assert events[-1]["data"]["actor"] is None
    assert events[4]["data"]["cancelled_at"] == "2026-03-01T12:00:00Z"


async def test_a_failed_first_attempt_says_it_will_be_retried_and_the_last_says_not(
    org: Org, operator: OperatorProcess, tap: Tap
) -> None:
    org = labelled(org)
    org.kubectl.apply(
        scheduled_job(
            "flaky",
            schedule={"cron": "0 0 1 1 *"},
            params={"exit": 3, "say": "boom"},
            retry={"maxAttempts": 2, "backoff": {"initial": "1s"}},
        )
    )
    org.kubectl.run("annotate", "--overwrite", "scheduledjob", "flaky", f"{ANNOTATION_RUN_NOW}=go")
    job_id = str(org.kubectl.get("scheduledjob", "flaky")["metadata"]["uid"])

    failed = await tap.until(job_id, "almanac.run.failed", 2)

    by_attempt = {e["data"]["attempt"]: e["data"] for e in failed}
    assert sorted(by_attempt) == [1, 2]
    assert by_attempt[1]["will_retry"] is True
    assert by_attempt[2]["will_retry"] is False
    for data in by_attempt.values():
        assert (data["namespace"], data["org_id"]) == (org.namespace, org.org_id)
    # Events of other phases never announce a retry.
    others = [e for e in tap.of(job_id, "almanac.run.") if e[0]["type"] != "almanac.run.failed"]
    assert all(event["data"]["will_retry"] is False for event, _ in others)


async def test_each_organisations_events_name_its_own_namespace_and_org_only(
    make_org: Any, operator: OperatorProcess, tap: Tap
) -> None:
    alice, mallory = labelled(make_org("alice")), labelled(make_org("mallory"))
    jobs = {
        org.org_id: org.create(name="Report", schedule="0 0 1 1 *", type="script", payload={})
        for org in (alice, mallory)
    }

    for org in (alice, mallory):
        (created,) = await tap.until(jobs[org.org_id]["id"], "almanac.job.created", 1)
        data = created["data"]
        assert (data["namespace"], data["org_id"]) == (org.namespace, org.org_id)
        assert data["actor"] == ("alice" if org is alice else "mallory")
    # No event on the topic pairs one organisation's job with the other's names.
    await tap.read()
    for event, header in tap.seen:
        data = event["data"]
        for org_id, job in jobs.items():
            if data.get("job_id") == job["id"]:
                assert (data["org_id"], data["namespace"]) == (org_id, f"org-{org_id}")
                assert header == f"org-{org_id}".encode()
