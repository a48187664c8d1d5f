"""Event-driven runs on the real stack: Kafka events become Jobs (a run due at once) or
RunRequests launched later, exactly once per event; delays survive restarts, cancel events
stop pending runs, sequences run in order, and ``after`` triggers chain ScheduledJobs. Each
test has a topic of its own.

The suite keeps to about twenty events (bursts belong in hack/bench/trigger_bench.py).
"""

from __future__ import annotations

import json
import uuid
from collections.abc import AsyncIterator, Iterator
from datetime import datetime
from typing import Any

import pytest
from aiokafka import AIOKafkaProducer

from tests.integration.operator_support import (
    almanac_jobs,
    module_operator,
    scheduled_job,
    script_template,
    status,
    with_script_template,
)
from tests.support import Kubectl, KubectlError, eventually
from tests.support.operator import OperatorProcess
from tests.support.waiting import consistently

TICKET_OPENED = 'event.type == "ticket.created" && event.priority in ["high", "urgent"]'
TICKET_RESOLVED = 'event.type == "ticket.resolved"'


@pytest.fixture(scope="module")
def operator(crds: Kubectl, tmp_path_factory: pytest.TempPathFactory) -> Iterator[OperatorProcess]:
    group = {"ALMANAC_TRIGGER_GROUP": f"t-group-{uuid.uuid4().hex[:8]}"}
    with module_operator("trigger-suite", tmp_path_factory, env=group) as replica:
        yield replica


@pytest.fixture
def k(crds: Kubectl, operator: OperatorProcess, namespace: str) -> Kubectl:
    return with_script_template(crds, namespace)


@pytest.fixture
def topic() -> str:
    return f"t-tickets-{uuid.uuid4().hex[:8]}"


@pytest.fixture
async def produce(stack: dict[str, str]) -> AsyncIterator[Any]:
    producer = AIOKafkaProducer(bootstrap_servers=stack["ALMANAC_KAFKA_BOOTSTRAP"], acks="all")
    await producer.start()

    async def send(topic: str, event: dict[str, Any] | bytes) -> None:
        value = event if isinstance(event, bytes) else json.dumps(event).encode()
        await producer.send_and_wait(topic, value)

    try:
        yield send
    finally:
        await producer.stop()


def ticket_job(name: str, topic: str, **trigger: Any) -> dict[str, Any]:
    """A trigger-only ScheduledJob: high-priority tickets, keyed by ticket id."""
    return scheduled_job(
        name,
        triggers=[
            {
                "name": "escalate",
                "kafka": {"topic": topic, "filter": TICKET_OPENED, "key": "event.ticket"},
                "params": {"say": '"escalate " + event.ticket'},
                **trigger,
            }
        ],
    )


def resolved(topic: str) -> list[dict[str, Any]]:
    return [{"kafka": {"topic": topic, "filter": TICKET_RESOLVED, "key": "event.ticket"}}]


def opened(event_id: str, ticket: str, priority: str = "high") -> dict[str, Any]:
    return {"id": event_id, "type": "ticket.created", "priority": priority, "ticket": ticket}


def requests(k: Kubectl, name: str) -> list[dict[str, Any]]:
    return k.list("runrequests", f"almanac.dev/scheduledjob={name}")


def counters(k: Kubectl, name: str, trigger: str = "escalate") -> dict[str, Any]:
    for entry in status(k, name).get("triggers") or []:
        if entry["name"] == trigger:
            return dict(entry)
    return {}


def env_of(job: dict[str, Any]) -> dict[str, str]:
    container = job["spec"]["template"]["spec"]["containers"][0]
    return {e["name"]: e.get("value", "") for e in container["env"]}


def has_counts(k: Kubectl, name: str, **wanted: int) -> dict[str, Any]:
    found = counters(k, name)
    assert all(found.get(key) == value for key, value in wanted.items()), found
    return found


async def test_event_runs_once_with_mapped_params_even_when_delivered_twice(
    k: Kubectl, topic: str, produce: Any
) -> None:
    k.apply(ticket_job("escalate", topic))
    await produce(topic, opened("evt-1", "T-1"))
    await produce(topic, opened("evt-1", "T-1"))  # redelivered: same id
    await produce(topic, opened("evt-2", "T-2", priority="low"))  # filter says no
    jobs = await eventually(lambda: almanac_jobs(k, "escalate"), timeout=60, what="a Job")
    await eventually(
        lambda: has_counts(k, "escalate", received=3, matched=2, launched=1, failed=0),
        timeout=30,
        what="counters",
    )
    jobs = almanac_jobs(k, "escalate")
    assert len(jobs) == 1
    assert requests(k, "escalate") == []  # due at once: the Job itself is the record
    job = jobs[0]
    assert job["metadata"]["labels"]["almanac.dev/trigger"] == "event"
    assert job["metadata"]["annotations"]["almanac.dev/event-id"] == "evt-1"
    env = env_of(job)
    assert json.loads(env["ALMANAC_PARAMS"])["say"] == "escalate T-1"
    assert json.loads(env["ALMANAC_EVENT"])["ticket"] == "T-1"
    await eventually(
        lambda: (status(k, "escalate").get("lastRun") or {}).get("message") == "escalate T-1",
        timeout=90,
        what="the run's result",
    )


async def test_delayed_run_survives_an_operator_restart(
    k: Kubectl, topic: str, produce: Any, operator: OperatorProcess
) -> None:
    k.apply(ticket_job("later", topic, delay="25s"))
    await produce(topic, opened("evt-late", "T-9"))
    pending = await eventually(lambda: requests(k, "later"), timeout=60, what="a RunRequest")
    due = datetime.fromisoformat(pending[0]["spec"]["dueTime"].replace("Z", "+00:00"))
    assert not almanac_jobs(k, "later")
    operator.stop()
    operator.start()
    jobs = await eventually(lambda: almanac_jobs(k, "later"), timeout=90, what="the delayed Job")
    created = datetime.fromisoformat(
        jobs[0]["metadata"]["creationTimestamp"].replace("Z", "+00:00")
    )
    assert created >= due.replace(microsecond=0)
    request = requests(k, "later")[0]
    await eventually(
        lambda: requests(k, "later")[0].get("status", {}).get("phase") == "Launched",
        timeout=30,
        what="RunRequest Launched",
    )
    assert request["metadata"]["name"] == pending[0]["metadata"]["name"]


async def test_cancel_event_before_the_due_time_prevents_the_run(
    k: Kubectl, topic: str, produce: Any
) -> None:
    k.apply(ticket_job("sla", topic, delay="12s", cancelOn=resolved(topic)))
    await produce(topic, opened("open-1", "T-5"))
    await produce(topic, opened("open-2", "T-6"))
    await eventually(lambda: len(requests(k, "sla")) == 2, timeout=60, what="two RunRequests")
    await produce(topic, {"id": "close-1", "type": "ticket.resolved", "ticket": "T-5"})

    def phases() -> dict[str, str]:
        return {
            r["spec"]["key"]: (r.get("status") or {}).get("phase", "Pending")
            for r in requests(k, "sla")
        }

    await eventually(
        lambda: phases() == {"T-5": "Cancelled", "T-6": "Launched"},
        timeout=60,
        what="T-5 cancelled, T-6 launched",
    )
    cancelled = next(r for r in requests(k, "sla") if r["spec"]["key"] == "T-5")
    assert cancelled["status"]["message"] == "cancelled by event close-1"
    jobs = almanac_jobs(k, "sla")
    assert [env_of(j)["ALMANAC_PARAMS"] for j in jobs] == ['{"say":"escalate T-6"}']
    await eventually(
        lambda: has_counts(k, "sla", cancelled=1, launched=1), timeout=20, what="counters"
    )


async def test_sequence_runs_in_order_and_stops_on_cancel(
    k: Kubectl, topic: str, produce: Any
) -> None:
    k.apply(ticket_job("drip", topic, sequence=["0s", "4s", "8s", "10m"], cancelOn=resolved(topic)))
    await produce(topic, opened("signup-1", "U-1"))

    def three_steps() -> list[dict[str, Any]] | None:
        found = almanac_jobs(k, "drip")
        return found if len(found) >= 3 else None

    jobs = await eventually(three_steps, timeout=90, what="three steps")
    by_slot = sorted(jobs, key=lambda j: j["metadata"]["annotations"]["almanac.dev/scheduled-time"])
    assert [env_of(j)["ALMANAC_SEQUENCE_STEP"] for j in by_slot] == ["0", "1", "2"]
    await produce(topic, {"id": "unsub-1", "type": "ticket.resolved", "ticket": "U-1"})
    await eventually(
        lambda: (
            {(r["spec"]["step"], (r.get("status") or {}).get("phase")) for r in requests(k, "drip")}
            == {(1, "Launched"), (2, "Launched"), (3, "Cancelled")}  # step 0: its Job
        ),
        timeout=60,
        what="the last step cancelled",
    )
    assert len(almanac_jobs(k, "drip")) == 3


async def test_after_trigger_runs_once_per_successful_upstream_run(
    k: Kubectl, topic: str, produce: Any
) -> None:
    upstream = scheduled_job(
        "extract",
        triggers=[
            {
                "name": "go",
                "kafka": {"topic": topic, "filter": 'event.type == "go"'},
                "params": {"exit": "event.exit", "say": '"batch " + string(event.exit)'},
            }
        ],
    )
    downstream = scheduled_job(
        "load",
        triggers=[
            {
                "name": "after-extract",
                "after": {"scheduledJob": "extract", "result": "Succeeded"},
                "params": {"say": '"after " + event.run'},
            }
        ],
    )
    k.apply(upstream, downstream)
    await produce(topic, {"id": "go-ok", "type": "go", "exit": 0})
    await produce(topic, {"id": "go-bad", "type": "go", "exit": 3})

    def finished_upstream() -> list[dict[str, Any]] | None:
        done = [
            j
            for j in almanac_jobs(k, "extract")
            if (j.get("status") or {}).get("succeeded") or (j.get("status") or {}).get("failed")
        ]
        return done if len(done) == 2 else None

    done = await eventually(finished_upstream, timeout=120, what="both upstream runs finished")
    succeeded = next(j for j in done if (j.get("status") or {}).get("succeeded"))
    loads = await eventually(lambda: almanac_jobs(k, "load"), timeout=60, what="the chained run")
    await consistently(lambda: len(almanac_jobs(k, "load")) == 1, duration=8, what="one run")
    assert loads[0]["metadata"]["labels"]["almanac.dev/trigger"] == "after"
    assert (
        json.loads(env_of(loads[0])["ALMANAC_PARAMS"])["say"]
        == f"after {succeeded['metadata']['name']}"
    )


async def test_bad_events_and_refused_params_are_counted_and_the_partition_moves_on(
    k: Kubectl, topic: str, produce: Any
) -> None:
    k.apply(
        {
            "apiVersion": "almanac.dev/v1alpha1",
            "kind": "JobTemplate",
            "metadata": {"name": "typed"},
            "spec": {
                "image": script_template()["spec"]["image"],
                "command": script_template()["spec"]["command"],
                "paramsSchema": {
                    "type": "object",
                    "properties": {"seconds": {"type": "integer"}, "say": {"type": "string"}},
                    "required": ["say"],  # only the trigger's mapping provides it
                },
            },
        }
    )
    job = ticket_job("strict", topic)
    job["spec"]["template"] = "typed"
    job["spec"]["triggers"][0]["params"]["seconds"] = "event.wait"
    k.apply(job)
    await produce(topic, b"{not json")
    await produce(topic, opened("typed-1", "T-1") | {"wait": "soon"})  # wrong type
    await produce(topic, opened("typed-2", "T-2"))  # no 'wait': the mapping fails
    await produce(topic, opened("typed-3", "T-3") | {"wait": 0})  # fine
    counts = await eventually(
        lambda: has_counts(k, "strict", received=4, launched=1, failed=3),
        timeout=90,
        what="three failures and one launch",
    )
    assert "params refused" in counts["lastError"] or "event" in counts["lastError"]
    jobs = almanac_jobs(k, "strict")
    assert len(jobs) == 1
    assert jobs[0]["metadata"]["annotations"]["almanac.dev/event-id"] == "typed-3"
    failed = [r for r in requests(k, "strict") if (r.get("status") or {}).get("phase") == "Failed"]
    assert len(failed) == 1
    assert "seconds" in failed[0]["status"]["message"]


def test_topic_name_kafka_refuses_is_refused_at_apply(k: Kubectl) -> None:
    bad = ticket_job("bad-topic", "tickets with spaces")
    with pytest.raises(KubectlError) as refused:
        k.apply(bad)
    assert "spec.triggers[0].kafka.topic" in refused.value.stderr
