"""PostgresRunStore against the stack's Postgres: rows, upserts, queries, retention, stats."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import psycopg
import pytest
from psycopg_pool import AsyncConnectionPool

from almanac.core.status import RunPhase
from almanac.core.tracing import run_trace_id
from almanac.history import AuditEntry, OutboxMessage, PostgresRunStore, RunStore, migrate
from almanac.history.migrations import TRACE_ID_SQL
from almanac.history.states import RunState
from tests.integration.history.schemas import drop_schema, new_schema_name
from tests.unit.history.builders import SLOT, UID, finished, record, running
from tests.unit.history.store_contract import CHECKS


async def _count(pool: AsyncConnectionPool, table: str) -> int:
    async with pool.connection() as conn:
        cur = await conn.execute(f"SELECT count(*) FROM {table}")  # test-only table names
        row = await cur.fetchone()
    assert row is not None
    return int(row[0])


async def test_record_run_stores_every_field(store: PostgresRunStore) -> None:
    done = finished(RunPhase.FAILED, exit_code=3, event_id="ev-1", trigger="manual", attempt=2)

    await store.record_run(done)

    got = await store.get_run(UID, done.run_name)
    assert got == done
    assert got is not None
    assert got.created_at is not None
    assert got.updated_at is not None
    assert got.duration == timedelta(seconds=30)


async def test_rows_carry_the_trace_id_python_derives_and_the_backfill_agrees(
    store: PostgresRunStore,
) -> None:
    done = finished()
    await store.record_run(done)
    async with store.pool.connection() as conn:
        # A row an older writer stored without one, filled by migration 6's formula.
        await conn.execute(
            "INSERT INTO job_runs (namespace, scheduledjob, scheduledjob_uid, run_name, slot,"
            " status) VALUES ('ns', 'old', 'uid-ü', 'old-run', now(), 'Succeeded')"
        )
        await conn.execute(f"UPDATE job_runs SET trace_id = {TRACE_ID_SQL} WHERE trace_id IS NULL")
        cur = await conn.execute("SELECT run_name, trace_id FROM job_runs ORDER BY run_name")
        stored: dict[str, str] = dict(await cur.fetchall())

    assert stored == {
        done.run_name: done.trace_id,
        "old-run": run_trace_id("uid-ü", "old-run"),
    }


async def test_same_record_twice_is_one_row(store: PostgresRunStore) -> None:
    await store.record_run(finished())
    await store.record_run(finished())

    assert await _count(store.pool, "job_runs") == 1


async def test_running_after_succeeded_does_not_regress(store: PostgresRunStore) -> None:
    done = finished()
    await store.record_run(done)
    await store.record_run(running(pod="late-pod"))

    got = await store.get_run(UID, done.run_name)
    assert got is not None
    assert got.phase == RunPhase.SUCCEEDED
    assert got.pod == "pod-1"
    assert await store.has_final_record(UID, done.run_name)


async def test_final_without_start_keeps_the_start_seen_earlier(store: PostgresRunStore) -> None:
    started = running()
    await store.record_run(started)
    await store.record_run(replace(finished(), started_at=None))

    got = await store.get_run(UID, started.run_name)
    assert got is not None
    assert got.started_at == started.started_at
    assert got.phase == RunPhase.SUCCEEDED


async def test_has_final_record_is_false_until_the_final_phase_is_stored(
    store: PostgresRunStore,
) -> None:
    assert not await store.has_final_record(UID, "nightly-202603010200")
    await store.record_run(running())
    assert not await store.has_final_record(UID, "nightly-202603010200")
    await store.record_run(finished())
    assert await store.has_final_record(UID, "nightly-202603010200")


async def test_run_and_its_messages_commit_together(store: PostgresRunStore) -> None:
    message = OutboxMessage("ev-1", "topic", UID, {"hello": "world"})

    await store.record_run(finished(), [message])
    await store.record_run(finished(), [message])

    assert await _count(store.pool, "outbox") == 1


async def test_a_run_whose_message_is_refused_is_not_stored_either(
    store: PostgresRunStore,
) -> None:
    """The pool's connections autocommit; a run and its messages still land together."""
    refused = OutboxMessage("ev-1", "topic", UID, {"text": "\x00"})  # jsonb refuses NUL

    with pytest.raises(psycopg.Error):
        await store.record_run(finished(), [refused])

    assert await _count(store.pool, "job_runs") == 0
    assert await _count(store.pool, "outbox") == 0
    await store.record_audit(AuditEntry("ns", "sj", "jdoe", "create", datetime.now(UTC)))
    assert await _count(store.pool, "audit_log") == 1, "a lone statement commits by itself"


async def test_oversized_result_is_truncated_and_marked(store: PostgresRunStore) -> None:
    big = finished(result={"status": "ok", "summary": "s", "blob": "x" * 100_000})

    await store.record_run(big)

    got = await store.get_run(UID, big.run_name)
    assert got is not None
    assert got.result is not None
    assert got.result["truncated"] is True
    assert got.result["status"] == "ok"


async def test_list_runs_filters_pages_and_counts(store: PostgresRunStore) -> None:
    for i in range(5):
        slot = SLOT + timedelta(hours=i)
        phase = RunPhase.SUCCEEDED if i % 2 == 0 else RunPhase.FAILED
        await store.record_run(finished(phase, record(run=f"nightly-{i}", slot=slot)))
    await store.record_run(record(run="other-0", uid="other-uid", name="other"))

    rows, total = await store.list_runs("org-000101", scheduledjob_uid=UID, limit=2, offset=1)
    assert total == 5
    assert [r.run_name for r in rows] == ["nightly-3", "nightly-2"]

    failed, total = await store.list_runs(
        "org-000101", scheduledjob="nightly", statuses=[RunState.FAILED]
    )
    assert (total, [r.run_name for r in failed]) == (2, ["nightly-3", "nightly-1"])

    elsewhere, total = await store.list_runs("org-000202", scheduledjob_uid=UID)
    assert (elsewhere, total) == ([], 0)


async def test_stats_on_known_data(store: PostgresRunStore) -> None:
    durations = [10, 20, 30, 40, 100]
    for i, seconds in enumerate(durations):
        slot = SLOT + timedelta(days=i)
        await store.record_run(
            finished(RunPhase.SUCCEEDED, record(run=f"ok-{i}", slot=slot), seconds=seconds)
        )
    for i, error in enumerate(["timeout", "timeout", "exit code 2"]):
        slot = SLOT.replace(hour=5) + timedelta(days=i)
        await store.record_run(
            finished(RunPhase.FAILED, record(run=f"bad-{i}", slot=slot), seconds=5, error=error)
        )
    await store.record_run(replace(record(run="skip-0"), phase=RunPhase.SKIPPED))

    stats = await store.stats("org-000101", UID)

    assert (stats.total, stats.succeeded, stats.failed, stats.skipped) == (9, 5, 3, 1)
    assert stats.success_rate == 5 / 8
    assert stats.p50_seconds == 15.0  # percentile_cont over 5, 5, 5, 10, 20, 30, 40, 100
    assert stats.p95_seconds is not None
    assert 70 < stats.p95_seconds < 100
    assert [(e.error, e.count) for e in stats.top_errors] == [("timeout", 2), ("exit code 2", 1)]
    # Busy hours are when runs ran: the skipped slot (hour 2) is not one.
    assert [(h.hour, h.count) for h in stats.busiest_hours] == [(2, 5), (5, 3)]


@pytest.mark.parametrize("check", CHECKS, ids=[c.__name__.removeprefix("check_") for c in CHECKS])
async def test_postgres_meets_the_store_contract(
    store: PostgresRunStore, check: Callable[[RunStore], Awaitable[None]]
) -> None:
    await check(store)


async def test_stats_of_a_job_without_runs(store: PostgresRunStore) -> None:
    stats = await store.stats("org-000101", "nobody")

    assert (stats.total, stats.success_rate, stats.p50_seconds) == (0, None, None)
    assert stats.top_errors == ()
    assert stats.busiest_hours == ()


async def test_retention_deletes_only_old_rows_in_batches(store: PostgresRunStore) -> None:
    for i in range(7):
        await store.record_run(record(run=f"run-{i}"))
    async with store.pool.connection() as conn:
        await conn.execute(
            "UPDATE job_runs SET created_at = now() - interval '40 days' WHERE run_name <> 'run-6'"
        )

    deleted = await store.delete_older_than(datetime.now(UTC) - timedelta(days=30), batch_size=2)

    assert deleted == 6
    rows, total = await store.list_runs("org-000101", scheduledjob_uid=UID)
    assert (total, [r.run_name for r in rows]) == (1, ["run-6"])


async def test_record_audit_appends(store: PostgresRunStore) -> None:
    at = datetime(2026, 3, 1, tzinfo=UTC)
    entry = AuditEntry("org-000101", "nightly", "jdoe", "run-now", at, "000101", {"key": "k1"})

    await store.record_audit(entry)

    async with store.pool.connection() as conn:
        cur = await conn.execute("SELECT actor, action, org_id, details, at FROM audit_log")
        assert await cur.fetchall() == [("jdoe", "run-now", "000101", {"key": "k1"}, at)]


async def test_migrations_are_idempotent_and_race_safely(dsn: str) -> None:
    schema = new_schema_name()
    conns = [
        await psycopg.AsyncConnection.connect(dsn, options=f"-c search_path={schema}")
        for _ in range(3)
    ]
    try:
        await conns[0].execute(f"CREATE SCHEMA {schema}")
        await conns[0].commit()
        applied = await asyncio.gather(*(migrate(c) for c in conns))
        again = await migrate(conns[0])
        cur = await conns[0].execute("SELECT version FROM schema_migrations")
        versions = [r[0] for r in await cur.fetchall()]
    finally:
        for conn in conns:
            await conn.close()
        await drop_schema(dsn, schema)

    assert sorted(v for result in applied for v in result) == [1, 2, 3, 4, 5, 6, 7]
    assert again == []
    assert versions == [1, 2, 3, 4, 5, 6, 7]
