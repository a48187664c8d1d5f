"""A run's trace: the operator, given an OTLP endpoint (a collector this test starts on
127.0.0.1), exports the run's spans under one trace id, the one its history row holds and
its pod's TRACEPARENT carries (docs/observability.md, "Traces")."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

import psycopg
import pytest

from almanac.core.tracing import run_trace_id, span_id_of
from tests.integration.operator_support import (
    almanac_jobs,
    module_operator,
    scheduled_job,
    with_script_template,
)
from tests.support import Kubectl, eventually
from tests.support.operator import OperatorProcess
from tests.support.otlp import OtlpCollector, ReceivedSpan, otlp_collector

#: What the operator emits for a run that succeeded, its notices aside.
RUN_SPANS = {
    "almanac.run",
    "almanac.run.launch",
    "almanac.run.running",
    "almanac.run.result",
    "almanac.run.history",
}


@pytest.fixture(scope="module")
def collector() -> Iterator[OtlpCollector]:
    with otlp_collector() as received:
        yield received


@pytest.fixture(scope="module")
def operator(
    crds: Kubectl, collector: OtlpCollector, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[OperatorProcess]:
    suffix = uuid.uuid4().hex[:8]
    env = {
        "OTEL_EXPORTER_OTLP_ENDPOINT": collector.endpoint,
        "OTEL_BSP_SCHEDULE_DELAY": "200",  # milliseconds: spans leave within the test's wait
        "ALMANAC_NOTIFY_TOPIC": f"t-notify-{suffix}",
        "ALMANAC_EVENTS_TOPIC": f"t-events-{suffix}",
    }
    with module_operator("traces-suite", tmp_path_factory, env=env) as replica:
        yield replica


@pytest.fixture
def k(crds: Kubectl, operator: OperatorProcess, namespace: str) -> Kubectl:
    return with_script_template(crds, namespace)


def final_row(stack: dict[str, str], uid: str) -> dict[str, Any] | None:
    """The run's history row once final (run name, status, trace id)."""
    with psycopg.connect(stack["ALMANAC_DATABASE_URL"], connect_timeout=3) as conn:
        row = conn.execute(
            "SELECT run_name, status, trace_id FROM job_runs"
            " WHERE scheduledjob_uid = %s AND finished_at IS NOT NULL",
            (uid,),
        ).fetchone()
    return None if row is None else {"run": row[0], "status": row[1], "trace_id": row[2]}


def by_name(spans: list[ReceivedSpan]) -> dict[str, ReceivedSpan]:
    return {s.name: s for s in spans}


async def test_a_run_is_one_trace_from_launch_to_history_and_notice(
    k: Kubectl, stack: dict[str, str], collector: OtlpCollector
) -> None:
    # Three seconds of work, so the Job watch sees the run active before it ends.
    k.apply(
        scheduled_job(
            "traced", schedule={"every": "5s", "maxRuns": 1}, params={"seconds": 3, "say": "hi"}
        )
    )
    uid = str(k.get("scheduledjob", "traced")["metadata"]["uid"])
    row = await eventually(lambda: final_row(stack, uid), timeout=120, what="the final row")
    assert row["status"] == "Succeeded"
    trace = row["trace_id"]
    assert trace == run_trace_id(uid, row["run"])
    root_id = span_id_of(trace, "almanac.run")

    def whole() -> dict[str, ReceivedSpan] | None:
        spans = by_name(collector.of_trace(trace))
        wanted = RUN_SPANS | {"almanac.run.notice"}
        return spans if wanted <= set(spans) else None

    spans = await eventually(whole, timeout=60, what=f"the spans of trace {trace}")
    root = spans["almanac.run"]
    assert (root.span_id, root.parent, root.service) == (root_id, "", "almanac-operator")
    for name in (RUN_SPANS | {"almanac.run.notice"}) - {"almanac.run"}:
        assert spans[name].parent == root_id, name
        assert spans[name].attributes["almanac.run.id"] == row["run"], name
        assert spans[name].attributes["almanac.scheduledjob.uid"] == uid, name
    assert spans["almanac.run.result"].attributes["almanac.run.phase"] == "Succeeded"
    assert spans["almanac.run.result"].status_code != 2  # not an error
    assert spans["almanac.run.notice"].kind == 4  # SPAN_KIND_PRODUCER

    (job,) = [j for j in almanac_jobs(k, "traced") if j["metadata"]["name"] == row["run"]]
    env = {
        e["name"]: e.get("value") for e in job["spec"]["template"]["spec"]["containers"][0]["env"]
    }
    assert env["TRACEPARENT"] == f"00-{trace}-{root_id}-01"


async def test_a_failed_run_trace_says_why(
    k: Kubectl, stack: dict[str, str], collector: OtlpCollector
) -> None:
    k.apply(
        scheduled_job(
            "broken", schedule={"every": "5s", "maxRuns": 1}, params={"say": "boom", "exit": 3}
        )
    )
    uid = str(k.get("scheduledjob", "broken")["metadata"]["uid"])
    row = await eventually(lambda: final_row(stack, uid), timeout=120, what="the final row")
    assert row["status"] == "Failed"

    def ended() -> dict[str, ReceivedSpan] | None:
        spans = by_name(collector.of_trace(row["trace_id"]))
        return spans if {"almanac.run", "almanac.run.result"} <= set(spans) else None

    spans = await eventually(ended, timeout=60, what="the failed run's spans")
    result = spans["almanac.run.result"]
    assert result.status_code == 2  # STATUS_CODE_ERROR
    assert result.status_message == "exit code 3"
    assert result.attributes["almanac.run.exit_code"] == 3
    assert spans["almanac.run"].status_code == 2
