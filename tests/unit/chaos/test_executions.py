"""The execution ledger's accounting: a finished run that never reported, and a run that
two pods executed, are each counted (a report sent again by the same pod is one
execution); a run still going is not asked to have reported."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import httpx

from hack.chaos.executions import ExecutionLedger, execution_gaps
from hack.chaos.ledger import RunSeen

T0 = datetime(2026, 12, 4, 12, 0, tzinfo=UTC)


def run(name: str, outcome: str | None = "Succeeded") -> RunSeen:
    finished = T0 + timedelta(seconds=1) if outcome else None
    return RunSeen(name, "allow-1", T0, "schedule", 1, T0, finished, outcome)


def test_each_finished_run_executed_once_is_clean() -> None:
    runs = [run("a"), run("b", "Failed"), run("c", None)]
    assert execution_gaps(runs, {"a": {"a-pod"}, "b": {"b-pod"}}) == (0, 0)


def test_a_run_never_executed_and_one_executed_by_two_pods_are_counted() -> None:
    runs = [run("a"), run("b"), run("c", None)]
    assert execution_gaps(runs, {"a": {"a-pod", "a-pod-2"}, "c": {"c-pod"}}) == (1, 1)


async def test_runs_posting_their_name_are_counted() -> None:
    ledger = ExecutionLedger("127.0.0.1")
    await ledger.start()
    try:
        async with httpx.AsyncClient() as http:
            for report in ("run-a pod-1", "run-b pod-2", "run-a pod-1", "run-a pod-3"):
                assert (await http.post(ledger.url, content=report)).status_code == 200
    finally:
        await ledger.stop()
    assert ledger.pods == {"run-a": {"pod-1", "pod-3"}, "run-b": {"pod-2"}}
