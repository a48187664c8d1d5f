"""The execution ledger's accounting: a finished run that never reported, and a run that
reported twice, are each counted; a run still going is not asked to have reported; and
the ledger counts what runs post to it."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime, timedelta

import httpx

from hack.chaos.executions import ExecutionLedger, execution_gaps
from hack.chaos.ledger import RunSeen

T0 = datetime(2026, 12, 4, 12, 0, tzinfo=UTC)


def run(name: str, outcome: str | None = "Succeeded") -> RunSeen:
    finished = T0 + timedelta(seconds=1) if outcome else None
    return RunSeen(name, "allow-1", T0, "schedule", 1, T0, finished, outcome)


def test_each_finished_run_reported_once_is_clean() -> None:
    runs = [run("a"), run("b", "Failed"), run("c", None)]
    assert execution_gaps(runs, Counter({"a": 1, "b": 1})) == (0, 0)


def test_a_run_never_executed_and_one_executed_twice_are_counted() -> None:
    runs = [run("a"), run("b"), run("c", None)]
    assert execution_gaps(runs, Counter({"a": 2, "c": 1})) == (1, 1)


async def test_runs_posting_their_name_are_counted() -> None:
    ledger = ExecutionLedger("127.0.0.1")
    await ledger.start()
    try:
        async with httpx.AsyncClient() as http:
            for name in ("run-a", "run-b", "run-a"):
                assert (await http.post(ledger.url, content=name)).status_code == 200
    finally:
        await ledger.stop()
    assert ledger.counts == Counter({"run-a": 2, "run-b": 1})
