"""No tenant stalls the rest, on the real stack: two namespaces share a topic; the noisy one
has a trigger with the heaviest filter admission allows, one whose mapped params are over
the cap, and one whose namespace quota refuses every run; the quiet one has an ordinary
trigger. The quiet namespace gets every run (control), the noisy one's events are counted
failed with the reason, and the partition is never re-read (counters stay put).

About twenty events, interleaved; the quiet namespace's last event is produced last.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import AsyncIterator, Iterator
from typing import Any

import pytest
from aiokafka import AIOKafkaProducer

from tests.integration.operator_support import (
    almanac_jobs,
    module_operator,
    scheduled_job,
    status,
    with_script_template,
)
from tests.support import Kubectl, consistently, eventually
from tests.support.operator import OperatorProcess

#: One comprehension (admission allows it), quadratic in this CEL library: about 6 s over
#: the 16,000 numbers of a 32 KiB event if it were evaluated to the end.
HEAVY = "has(event.items) && size(event.items.map(b, b)) > 0"
ROUNDS = 5


@pytest.fixture(scope="module")
def operator(crds: Kubectl, tmp_path_factory: pytest.TempPathFactory) -> Iterator[OperatorProcess]:
    env = {
        "ALMANAC_TRIGGER_GROUP": f"t-noisy-{uuid.uuid4().hex[:8]}",
        "ALMANAC_TRIGGER_EVAL_TIMEOUT": "100ms",
    }
    with module_operator("noisy-tenant", tmp_path_factory, env=env) as replica:
        yield replica


@pytest.fixture
def noisy(crds: Kubectl, operator: OperatorProcess) -> Iterator[Kubectl]:
    """A second namespace, whose quota allows no Job and no RunRequest."""
    name = f"t-noisy-{uuid.uuid4().hex[:8]}"
    crds.apply({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name}})
    try:
        k = with_script_template(crds, name)
        k.apply(
            {
                "apiVersion": "v1",
                "kind": "ResourceQuota",
                "metadata": {"name": "no-runs"},
                "spec": {"hard": {"count/jobs.batch": "0", "count/runrequests.almanac.dev": "0"}},
            }
        )
        yield k
    finally:
        crds.run("delete", "namespace", name, "--wait=false")


@pytest.fixture
def quiet(crds: Kubectl, operator: OperatorProcess, namespace: str) -> Kubectl:
    return with_script_template(crds, namespace)


@pytest.fixture
async def produce(stack: dict[str, str]) -> AsyncIterator[Any]:
    producer = AIOKafkaProducer(bootstrap_servers=stack["ALMANAC_KAFKA_BOOTSTRAP"], acks="all")
    await producer.start()

    async def send(topic: str, event: dict[str, Any]) -> None:
        await producer.send_and_wait(topic, json.dumps(event, separators=(",", ":")).encode())

    try:
        yield send
    finally:
        await producer.stop()


def trigger(name: str, topic: str, filter_: str, **params: str) -> dict[str, Any]:
    return scheduled_job(
        name,
        triggers=[{"name": "t", "kafka": {"topic": topic, "filter": filter_}, "params": params}],
    )


def counters(k: Kubectl, name: str) -> dict[str, Any]:
    found = status(k, name).get("triggers") or []
    return dict(found[0]) if found else {}


def has_counts(k: Kubectl, name: str, **wanted: int) -> dict[str, Any]:
    found = counters(k, name)
    assert all(found.get(key, 0) == value for key, value in wanted.items()), (name, found)
    return found


def quota_enforced(k: Kubectl) -> bool:
    return bool((k.get("resourcequota", "no-runs").get("status") or {}).get("hard"))


async def test_a_noisy_tenant_does_not_stall_the_quiet_one(
    noisy: Kubectl, quiet: Kubectl, produce: Any, operator: OperatorProcess
) -> None:
    topic = f"t-shared-{uuid.uuid4().hex[:8]}"
    noisy.apply(
        trigger("heavy", topic, HEAVY),
        trigger(
            "bloated", topic, 'event.type == "n.bloat"', say="event.pad + event.pad + event.pad"
        ),
        trigger("refused", topic, 'event.type == "n.plain"'),
    )
    quiet.apply(trigger("quiet", topic, 'event.type == "q.ping"', say='"ping " + event.id'))
    await eventually(lambda: quota_enforced(noisy), timeout=30, what="the quota in force")
    sent = 0
    for i in range(ROUNDS):
        await produce(topic, {"id": f"q-{i}", "type": "q.ping"})
        await produce(topic, {"id": f"nh-{i}", "type": "n.heavy", "items": [1] * 16_000})
        await produce(topic, {"id": f"nb-{i}", "type": "n.bloat", "pad": "x" * 30_000})
        if i < ROUNDS - 1:
            await produce(topic, {"id": f"nq-{i}", "type": "n.plain"})
        sent += 4 if i < ROUNDS - 1 else 3
    await produce(topic, {"id": "q-last", "type": "q.ping"})  # after all the noise
    sent += 1
    pings = ROUNDS + 1

    # Control: every quiet event launches its run, the last one included.
    await eventually(
        lambda: has_counts(quiet, "quiet", received=sent, matched=pings, launched=pings, failed=0),
        timeout=45,
        what="every quiet event launched",
    )
    ids = {
        j["metadata"]["annotations"]["almanac.dev/event-id"] for j in almanac_jobs(quiet, "quiet")
    }
    assert ids == {f"q-{i}" for i in range(ROUNDS)} | {"q-last"}

    # The noisy tenant's events are failures, each with its reason, counted once.
    heavy = await eventually(
        lambda: has_counts(noisy, "heavy", received=sent, matched=0, failed=ROUNDS),
        timeout=15,
        what="heavy filter cut at its deadline",
    )
    assert "took longer than 100 ms" in heavy["lastError"]
    bloated = has_counts(noisy, "bloated", matched=0, failed=ROUNDS)
    assert "64 KiB" in bloated["lastError"]
    assert "spec.triggers[0].params.say" in bloated["lastError"]
    refused = has_counts(noisy, "refused", matched=ROUNDS - 1, launched=0, failed=ROUNDS - 1)
    assert "HTTP 403" in refused["lastError"]
    assert "exceeded quota" in refused["lastError"]
    assert noisy.list("jobs") == []
    assert noisy.list("runrequests") == []

    # Never re-read: a rewind would count the partition's events again.
    def settled() -> bool:
        return (
            counters(quiet, "quiet").get("received") == sent
            and counters(noisy, "refused").get("failed") == ROUNDS - 1
        )

    await consistently(settled, duration=4, what="counters unchanged")
    assert "trigger events not handled, will retry" not in operator.log_text()
