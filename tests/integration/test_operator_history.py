"""The operator writes every run into the history and announces it on Kafka, and neither
a Postgres nor a Kafka outage loses a run, a row or a notification (invariant 3)."""

from __future__ import annotations

import json
import urllib.request
import uuid
from collections.abc import AsyncIterator, Iterator
from typing import Any

import psycopg
import pytest
from aiokafka import AIOKafkaConsumer

from tests.integration.operator_support import (
    almanac_jobs,
    condition,
    module_operator,
    scheduled_job,
    status,
    with_script_template,
)
from tests.support import Kubectl, eventually
from tests.support.kafka import reading
from tests.support.operator import OperatorProcess
from tests.support.outage import stack_component


@pytest.fixture(scope="module")
def topics() -> dict[str, str]:
    suffix = uuid.uuid4().hex[:8]
    return {
        "ALMANAC_NOTIFY_TOPIC": f"t-notify-{suffix}",
        "ALMANAC_EVENTS_TOPIC": f"t-events-{suffix}",
    }


@pytest.fixture(scope="module")
def operator(
    crds: Kubectl, topics: dict[str, str], tmp_path_factory: pytest.TempPathFactory
) -> Iterator[OperatorProcess]:
    with module_operator("history-suite", tmp_path_factory, env=topics) as replica:
        yield replica


@pytest.fixture
def k(crds: Kubectl, operator: OperatorProcess, namespace: str) -> Kubectl:
    return with_script_template(crds, namespace)


@pytest.fixture
async def consumer(
    stack: dict[str, str], topics: dict[str, str]
) -> AsyncIterator[AIOKafkaConsumer]:
    async with reading(stack["ALMANAC_KAFKA_BOOTSTRAP"], *topics.values()) as c:
        yield c


def rows(stack: dict[str, str], uid: str) -> dict[str, dict[str, Any]]:
    """The history rows of one ScheduledJob, by run name (several per name would fail the
    unique index: one row per run is the schema's promise, checked here by counting)."""
    with psycopg.connect(stack["ALMANAC_DATABASE_URL"], connect_timeout=3) as conn:
        cur = conn.execute(
            "SELECT run_name, status, template, trigger, attempt, started_at, finished_at,"
            " exit_code, result, error, pod, count(*) OVER (PARTITION BY run_name) AS copies"
            " FROM job_runs WHERE scheduledjob_uid = %s",
            (uid,),
        )
        names = [d.name for d in cur.description or []]
        found = [dict(zip(names, row, strict=True)) for row in cur.fetchall()]
    assert all(r["copies"] == 1 for r in found), "a run has more than one row"
    return {r["run_name"]: r for r in found}


def uid_of(k: Kubectl, name: str) -> str:
    return str(k.get("scheduledjob", name)["metadata"]["uid"])


def finished_jobs(k: Kubectl, name: str) -> list[str]:
    return sorted(
        j["metadata"]["name"]
        for j in almanac_jobs(k, name)
        if (j.get("status") or {}).get("succeeded") or (j.get("status") or {}).get("failed")
    )


def metric(operator: OperatorProcess, name: str) -> float | None:
    url = f"http://127.0.0.1:{operator.metrics_port}/metrics"
    with urllib.request.urlopen(url, timeout=5) as response:
        for line in response.read().decode().splitlines():
            if line.startswith(name + " "):
                return float(line.split()[1])
    return None


async def test_each_run_gets_one_row_with_its_result(k: Kubectl, stack: dict[str, str]) -> None:
    k.apply(scheduled_job("ok", schedule={"every": "5s"}, params={"say": "hello"}))
    k.apply(scheduled_job("bad", schedule={"every": "5s"}, params={"say": "boom", "exit": 3}))
    ok, bad = uid_of(k, "ok"), uid_of(k, "bad")

    def two_final(uid: str) -> dict[str, dict[str, Any]] | None:
        final = {n: r for n, r in rows(stack, uid).items() if r["finished_at"] is not None}
        return final if len(final) >= 2 else None

    good = await eventually(lambda: two_final(ok), timeout=120, what="two finished rows")
    for name, row in good.items():
        assert row["status"] == "Succeeded"
        assert (row["template"], row["trigger"], row["attempt"]) == ("script", "schedule", 1)
        assert row["exit_code"] == 0
        assert row["result"] == {"status": "done", "summary": "hello"}
        assert row["pod"].startswith(name)
        assert row["started_at"] <= row["finished_at"]
    failed = await eventually(lambda: two_final(bad), timeout=120, what="two failed rows")
    for row in failed.values():
        assert row["status"] == "Failed"
        assert row["exit_code"] == 3
        assert row["result"]["summary"] == "boom"
    # Every Job of the ScheduledJob has its row (launch writes a Pending one at once).
    jobs = {j["metadata"]["name"] for j in almanac_jobs(k, "ok")}
    await eventually(lambda: jobs <= set(rows(stack, ok)), timeout=30, what="rows of all Jobs")


async def test_postgres_outage_degrades_keeps_scheduling_and_loses_no_row(
    k: Kubectl, stack: dict[str, str], operator: OperatorProcess
) -> None:
    k.apply(
        scheduled_job(
            "steady",
            schedule={"every": "2s"},
            params={"say": "tick"},
            history={"successfulJobs": 1, "failedJobs": 1},
        )
    )
    uid = uid_of(k, "steady")
    await eventually(lambda: len(rows(stack, uid)) >= 2, timeout=120, what="rows before")
    seen: set[str] = set()

    def launched() -> int:
        seen.update(j["metadata"]["name"] for j in almanac_jobs(k, "steady"))
        return int(((status(k, "steady").get("counts")) or {}).get("launched", 0))

    before = launched()
    stack_component("stop", "postgres")
    try:
        degraded = await eventually(
            lambda: (c := condition(k, "steady", "Degraded")) and c["status"] == "True" and c,
            timeout=60,
            what="Degraded=True",
        )
        assert degraded["reason"] == "HistoryUnavailable"
        assert "ALMANAC_DATABASE_URL" in degraded["message"]
        assert metric(operator, "almanac_history_healthy") == 0
        # Scheduling goes on for about half a minute of outage, and finished Jobs are
        # kept beyond the history limit because their rows are not stored yet.
        await eventually(lambda: launched() >= before + 12, timeout=90, what="runs in outage")
        await eventually(lambda: len(finished_jobs(k, "steady")) >= 3, timeout=60, what="Jobs kept")
    finally:
        stack_component("start", "postgres")
    await eventually(
        lambda: (c := condition(k, "steady", "Degraded")) and c["status"] == "False",
        timeout=90,
        what="Degraded=False",
    )
    # Once the rows exist, history limits prune again; every run seen has exactly one row.
    await eventually(
        lambda: len(finished_jobs(k, "steady")) <= 2, timeout=90, what="pruning resumed"
    )
    k.run("patch", "scheduledjob", "steady", "--type=merge", "-p", '{"spec":{"suspend":true}}')
    final = launched()

    def all_recorded() -> bool:
        recorded = rows(stack, uid)
        missing = seen - set(recorded)
        assert not missing, f"runs without a row: {sorted(missing)[:5]}"
        return len(recorded) >= final

    await eventually(all_recorded, timeout=60, what="a row for every run")
    assert metric(operator, "almanac_history_backlog") == 0


async def test_kafka_outage_delays_notifications_but_loses_none(
    k: Kubectl, stack: dict[str, str], consumer: AIOKafkaConsumer
) -> None:
    k.apply(scheduled_job("notified", schedule={"every": "2s"}, params={"say": "hi"}))
    uid = uid_of(k, "notified")
    stack_component("stop", "kafka")
    try:
        await eventually(
            lambda: len([r for r in rows(stack, uid).values() if r["finished_at"]]) >= 4,
            timeout=120,
            what="runs finished while Kafka is down",
        )
    finally:
        stack_component("start", "kafka")
    k.run("patch", "scheduledjob", "notified", "--type=merge", "-p", '{"spec":{"suspend":true}}')
    received: dict[str, dict[str, Any]] = {}
    copies: dict[str, int] = {}

    async def every_run_announced() -> bool:
        batches = await consumer.getmany(timeout_ms=1000)
        for records in batches.values():
            for message in records:
                body = json.loads(message.value)
                job_id = (body.get("context") or {}).get("job_id") or (body.get("data") or {}).get(
                    "job_id"
                )
                if job_id == uid:
                    copies[body["id"]] = copies.get(body["id"], 0) + 1
                    received[body["id"]] = body
        finished = {n for n, r in rows(stack, uid).items() if r["finished_at"]}
        notified = {b["context"]["run_id"] for b in received.values() if b.get("event_type")}
        return bool(finished) and finished <= notified

    await eventually(every_run_announced, timeout=120, interval=0.2, what="all notifications")
    notices = [b for b in received.values() if b.get("event_type")]
    assert {b["event_type"] for b in notices} == {"job-run-completed"}
    assert all(b["context"]["status"] == "completed" for b in notices)
    assert all(b["org_id"] == "" for b in notices)  # not an org-* namespace
    # At least once: a duplicate may arrive, always with the same id (consumers dedup).
    assert len({b["context"]["run_id"] for b in notices}) == len(notices)


async def test_runs_ending_while_no_operator_runs_are_recorded_by_the_next(
    k: Kubectl, stack: dict[str, str], operator: OperatorProcess
) -> None:
    k.apply(
        scheduled_job(
            "slow", schedule={"every": "3s"}, params={"seconds": 6}, overlapPolicy="Allow"
        )
    )
    uid = uid_of(k, "slow")

    def running_jobs() -> list[str] | None:
        names = [
            j["metadata"]["name"]
            for j in almanac_jobs(k, "slow")
            if (j.get("status") or {}).get("active")
        ]
        return names if len(names) >= 2 else None

    active = await eventually(running_jobs, timeout=120, what="two running Jobs")
    operator.kill()  # a crash: the buffer dies with the process, the Lease is not released
    try:
        await eventually(
            lambda: set(active) <= set(finished_jobs(k, "slow")),
            timeout=60,
            what="the runs to end with no operator",
        )
        assert not any(rows(stack, uid).get(n, {}).get("finished_at") for n in active)
    finally:
        operator.start()
    k.run("patch", "scheduledjob", "slow", "--type=merge", "-p", '{"spec":{"suspend":true}}')

    def recorded() -> bool:
        final = {n for n, r in rows(stack, uid).items() if r["finished_at"]}
        return set(active) <= final

    await eventually(recorded, timeout=90, what="final rows written by the next operator")
