"""The in-memory store follows the same rules as Postgres (merge, stats, retention)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta

import pytest

from almanac.core.status import RunPhase
from almanac.history import RunStore
from tests.support.runstore import InMemoryRunStore, aggregate, percentile_cont
from tests.unit.history.builders import SLOT, UID, finished, record, running
from tests.unit.history.store_contract import CHECKS


@pytest.mark.parametrize(
    ("values", "fraction", "expected"),
    [
        pytest.param([], 0.5, None, id="empty"),
        pytest.param([7.0], 0.99, 7.0, id="single"),
        pytest.param([1.0, 2.0, 3.0, 4.0], 0.5, 2.5, id="even-count-interpolates"),
        pytest.param([10.0, 20.0, 30.0, 40.0, 100.0], 0.95, 88.0, id="p95"),
    ],
)
def test_percentile_cont_matches_postgres(
    values: list[float], fraction: float, expected: float | None
) -> None:
    assert percentile_cont(values, fraction) == (
        None if expected is None else pytest.approx(expected)
    )


def test_fake_implements_the_protocol() -> None:
    assert isinstance(InMemoryRunStore(), RunStore)


async def test_fake_stats_and_listing() -> None:
    store = InMemoryRunStore()
    for i, seconds in enumerate([10, 20, 30]):
        await store.record_run(
            finished(base=record(run=f"ok-{i}", slot=SLOT + timedelta(days=i)), seconds=seconds)
        )
    await store.record_run(finished(RunPhase.FAILED, record(run="bad"), error="boom"))
    await store.record_run(running(record(run="ok-0")))  # stale: ignored

    stats = await store.stats("org-000101", UID)
    rows, total = await store.list_runs("org-000101", scheduledjob_uid=UID, limit=2)

    assert (stats.total, stats.succeeded, stats.failed) == (4, 3, 1)
    assert stats.success_rate == 0.75
    assert stats.p50_seconds == 25.0
    assert [(e.error, e.count) for e in stats.top_errors] == [("boom", 1)]
    assert total == 4
    assert [r.run_name for r in rows] == ["ok-2", "ok-1"]


async def test_fake_retention_uses_created_at() -> None:
    store = InMemoryRunStore(now=datetime(2026, 1, 1, tzinfo=UTC))
    await store.record_run(record(run="old"))

    assert await store.delete_older_than(datetime(2026, 2, 1, tzinfo=UTC)) == 1
    assert store.runs == {}


@pytest.mark.parametrize("check", CHECKS, ids=[c.__name__.removeprefix("check_") for c in CHECKS])
async def test_fake_meets_the_store_contract(check: Callable[[RunStore], Awaitable[None]]) -> None:
    await check(InMemoryRunStore())


def test_aggregate_rounds_durations_to_the_milliseconds_postgres_keeps() -> None:
    done = finished(seconds=1.0004)

    assert aggregate([done]).max_seconds == 1.0
