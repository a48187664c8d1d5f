"""The Postgres :class:`~almanac.history.store.RunStore` (psycopg 3, async pool).

The upsert encodes :func:`~almanac.history.records.merge_records` in SQL with the
``almanac_phase_rank`` SQL function from the first migration, so the rule holds even when two
writers race (two operator replicas during a failover, a replayed buffer). Each write of a
run and of its outbox messages is one transaction (invariant nothing-lost).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any, Final

from psycopg import AsyncConnection
from psycopg.rows import dict_row
from psycopg.types.json import Jsonb
from psycopg_pool import AsyncConnectionPool

from almanac.core.logtail import LogTail
from almanac.core.status import RunPhase
from almanac.history.aggregates import (
    JOB_HOURS,
    JOB_STATS,
    JOB_TOP_ERRORS,
    QUEUE,
    SUMMARY,
    aggregate_of,
    window_conditions,
)
from almanac.history.deadletters import DeadLetter, LetterKind, run_letter
from almanac.history.pgletters import (
    get_dead_letter,
    insert_dead_letters,
    list_dead_letters,
    mark_requeued,
)
from almanac.history.pglogs import read_log, write_logs
from almanac.history.records import (
    FILLABLE,
    AuditEntry,
    ErrorCount,
    HourCount,
    OutboxMessage,
    RunRecord,
    RunStats,
    RunSummary,
    RunWrite,
)
from almanac.history.states import STATE_SQL, RunState
from almanac.history.store import DEFAULT_LIMIT, MAX_LIMIT, LetterPage, RunPage

__all__ = ["PostgresRunStore"]

_COLUMNS: Final = (
    "namespace",
    "scheduledjob",
    "scheduledjob_uid",
    "run_name",
    "template",
    "trigger",
    "slot",
    "attempt",
    "status",
    "started_at",
    "finished_at",
    "exit_code",
    "result",
    "error",
    "pod",
    "event_id",
    "reason",
    "dead_lettered_at",
)
#: The run columns an upsert fills from the stored row when the new one lacks them (the
#: log tail is not a column: it has a table of its own, :mod:`almanac.history.pglogs`).
_FILLABLE: Final = tuple(name for name in FILLABLE if name in _COLUMNS)
_REPLACED: Final = (
    "template",
    "trigger",
    "slot",
    "attempt",
    "status",
    "namespace",
    "scheduledjob",
    "reason",
)
_NEW_WINS: Final = (
    "(almanac_phase_rank(EXCLUDED.status) > almanac_phase_rank(job_runs.status)"
    " OR EXCLUDED.status = job_runs.status)"
)


#: Written with each new row, never read back (``RunRecord.trace_id`` derives it): the
#: column is for finding a run by its trace id in SQL (migration 6).
_INSERTED: Final = (*_COLUMNS, "trace_id")


def _upsert_sql() -> str:
    sets = [
        f"{c} = CASE WHEN {_NEW_WINS} THEN EXCLUDED.{c} ELSE job_runs.{c} END" for c in _REPLACED
    ]
    sets += [
        f"{c} = CASE WHEN {_NEW_WINS} THEN COALESCE(EXCLUDED.{c}, job_runs.{c})"
        f" ELSE COALESCE(job_runs.{c}, EXCLUDED.{c}) END"
        for c in _FILLABLE
    ]
    sets.append("trace_id = EXCLUDED.trace_id")  # the same value (a row of an older writer: none)
    sets.append("updated_at = now()")
    return (
        f"INSERT INTO job_runs ({', '.join(_INSERTED)}) "
        f"VALUES ({', '.join(['%s'] * len(_INSERTED))}) "
        "ON CONFLICT ON CONSTRAINT job_runs_run_key DO UPDATE SET " + ", ".join(sets)
    )


_UPSERT: Final = _upsert_sql()
_ENQUEUE: Final = (
    "INSERT INTO outbox (event_id, topic, key, payload) VALUES (%s, %s, %s, %s)"
    " ON CONFLICT (event_id) DO NOTHING"
)
_SELECT: Final = f"SELECT {', '.join(_COLUMNS)}, created_at, updated_at FROM job_runs"
_DELETE_BATCH: Final = """
DELETE FROM job_runs WHERE id IN (
    SELECT id FROM job_runs WHERE created_at < %s ORDER BY created_at LIMIT %s
)
"""


def _params(record: RunRecord) -> tuple[Any, ...]:
    r = record.bounded()
    return (
        r.namespace,
        r.scheduledjob,
        r.scheduledjob_uid,
        r.run_name,
        r.template,
        r.trigger,
        r.slot,
        r.attempt,
        r.phase.value,
        r.started_at,
        r.finished_at,
        r.exit_code,
        Jsonb(r.result) if r.result is not None else None,
        r.error,
        r.pod,
        r.event_id,
        r.reason,
        r.dead_lettered_at,
        r.trace_id,
    )


def _record(row: dict[str, Any]) -> RunRecord:
    data = {c: row[c] for c in _COLUMNS if c != "status"}
    return RunRecord(
        **data,
        phase=RunPhase(row["status"]),
        created_at=row["created_at"],
        updated_at=row["updated_at"],
    )


def _message_params(messages: Sequence[OutboxMessage]) -> list[tuple[Any, ...]]:
    return [(m.event_id, m.topic, m.key, Jsonb(m.payload)) for m in messages]


class PostgresRunStore:
    """Run history in Postgres; the pool is owned by the caller (the composition root).

    Parameters
    ----------
    pool
        An open :class:`AsyncConnectionPool` whose connections see the migrated schema.
    """

    def __init__(self, pool: AsyncConnectionPool) -> None:
        self.pool = pool

    async def record_run(self, record: RunRecord, messages: Sequence[OutboxMessage] = ()) -> None:
        await self.record_runs([RunWrite(record, tuple(messages))])

    async def record_runs(self, writes: Sequence[RunWrite]) -> None:
        if not writes:
            return
        async with self.pool.connection() as conn, conn.transaction():
            await _write(conn, writes)

    async def enqueue(self, messages: Sequence[OutboxMessage]) -> None:
        if not messages:
            return
        async with self.pool.connection() as conn, conn.transaction(), conn.cursor() as cur:
            await cur.executemany(_ENQUEUE, _message_params(messages))

    async def get_run(self, scheduledjob_uid: str, run_name: str) -> RunRecord | None:
        async with self.pool.connection() as conn, conn.cursor(row_factory=dict_row) as cur:
            await cur.execute(
                _SELECT + " WHERE scheduledjob_uid = %s AND run_name = %s",
                (scheduledjob_uid, run_name),
            )
            row = await cur.fetchone()
        return _record(row) if row is not None else None

    async def get_log(self, scheduledjob_uid: str, run_name: str) -> LogTail | None:
        async with self.pool.connection() as conn:
            return await read_log(conn, scheduledjob_uid, run_name)

    async def find_run(self, namespace: str, run_name: str) -> RunRecord | None:
        async with self.pool.connection() as conn, conn.cursor(row_factory=dict_row) as cur:
            await cur.execute(
                _SELECT + " WHERE namespace = %s AND run_name = %s ORDER BY id DESC LIMIT 1",
                (namespace, run_name),
            )
            row = await cur.fetchone()
        return _record(row) if row is not None else None

    async def list_runs(
        self,
        namespace: str,
        *,
        scheduledjob_uid: str | None = None,
        scheduledjob: str | None = None,
        statuses: Sequence[RunState] = (),
        since: datetime | None = None,
        until: datetime | None = None,
        oldest_first: bool = False,
        limit: int = DEFAULT_LIMIT,
        offset: int = 0,
    ) -> RunPage:
        where, params = window_conditions(since, until)
        where.append("namespace = %(ns)s")
        params |= {
            "ns": namespace,
            "limit": max(0, min(limit, MAX_LIMIT)),
            "offset": max(0, offset),
        }
        if scheduledjob_uid is not None:
            where.append("scheduledjob_uid = %(uid)s")
            params["uid"] = scheduledjob_uid
        if scheduledjob is not None:
            where.append("scheduledjob = %(name)s")
            params["name"] = scheduledjob
        if statuses:
            where.append(f"{STATE_SQL} = ANY(%(statuses)s)")
            params["statuses"] = [RunState(s).value for s in statuses]
        condition = " AND ".join(where)
        order = "slot, id" if oldest_first else "slot DESC, id DESC"
        async with self.pool.connection() as conn, conn.cursor(row_factory=dict_row) as cur:
            await cur.execute(
                f"{_SELECT} WHERE {condition} ORDER BY {order} LIMIT %(limit)s OFFSET %(offset)s",
                params,
            )
            rows = [_record(r) for r in await cur.fetchall()]
            if params["offset"] == 0 and len(rows) < params["limit"]:
                return rows, len(rows)
            await cur.execute(f"SELECT count(*) AS n FROM job_runs WHERE {condition}", params)
            total = await cur.fetchone()
        return rows, int(total["n"]) if total else 0

    async def has_final_record(self, scheduledjob_uid: str, run_name: str) -> bool:
        async with self.pool.connection() as conn:
            cur = await conn.execute(
                "SELECT almanac_phase_rank(status) = 2 FROM job_runs"
                " WHERE scheduledjob_uid = %s AND run_name = %s",
                (scheduledjob_uid, run_name),
            )
            row = await cur.fetchone()
        return bool(row and row[0])

    async def stats(self, namespace: str, scheduledjob_uid: str) -> RunStats:
        params = {"ns": namespace, "uid": scheduledjob_uid}
        async with self.pool.connection() as conn, conn.cursor(row_factory=dict_row) as cur:
            await cur.execute(JOB_STATS, params)
            head = await cur.fetchone()
            await cur.execute(JOB_TOP_ERRORS, params)
            errors = await cur.fetchall()
            await cur.execute(JOB_HOURS, params)
            hours = await cur.fetchall()
        assert head is not None  # an aggregate always returns one row
        return RunStats(
            **vars(aggregate_of(head)),
            top_errors=tuple(ErrorCount(e["error"], int(e["n"]), e["last_seen"]) for e in errors),
            busiest_hours=tuple(HourCount(int(h["hour"]), int(h["n"])) for h in hours),
        )

    async def summarize(self, namespace: str, since: datetime, until: datetime) -> RunSummary:
        params = {"ns": namespace, "since": since, "until": until}
        async with self.pool.connection() as conn, conn.cursor(row_factory=dict_row) as cur:
            await cur.execute(SUMMARY, params)
            head = await cur.fetchone()
            await cur.execute(QUEUE, params)
            queue = await cur.fetchone()
        assert head is not None  # an aggregate always returns one row
        assert queue is not None
        return RunSummary(
            runs=aggregate_of(head),
            running_now=int(queue["running"]),
            pending_now=int(queue["pending"]),
        )

    async def delete_older_than(self, cutoff: datetime, batch_size: int = 1000) -> int:
        """Delete in batches of ``batch_size``, one short transaction each, so retention
        never holds long locks on a table the operator writes to."""
        deleted = 0
        while True:
            async with self.pool.connection() as conn:
                cur = await conn.execute(_DELETE_BATCH, (cutoff, batch_size))
                count = cur.rowcount
            deleted += max(0, count)
            if count < batch_size:
                return deleted

    async def record_dead_letter(self, letter: DeadLetter) -> None:
        async with self.pool.connection() as conn, conn.transaction():
            await insert_dead_letters(conn, [letter])

    async def list_dead_letters(
        self,
        namespace: str,
        *,
        scheduledjob_uid: str | None = None,
        kind: LetterKind | None = None,
        since: datetime | None = None,
        until: datetime | None = None,
        limit: int = DEFAULT_LIMIT,
        offset: int = 0,
    ) -> LetterPage:
        async with self.pool.connection() as conn:
            return await list_dead_letters(
                conn,
                namespace,
                scheduledjob_uid=scheduledjob_uid,
                kind=kind,
                since=since,
                until=until,
                limit=max(0, min(limit, MAX_LIMIT)),
                offset=max(0, offset),
            )

    async def get_dead_letter(self, namespace: str, letter_id: int) -> DeadLetter | None:
        async with self.pool.connection() as conn:
            return await get_dead_letter(conn, namespace, letter_id)

    async def mark_requeued(
        self, namespace: str, letter_id: int, run: str, at: datetime
    ) -> DeadLetter | None:
        async with self.pool.connection() as conn:
            return await mark_requeued(conn, namespace, letter_id, run, at)

    async def count_audit(
        self, org_id: str, actor: str, actions: Sequence[str], since: datetime
    ) -> int:
        async with self.pool.connection() as conn:
            cur = await conn.execute(
                "SELECT count(*) FROM audit_log"
                " WHERE org_id = %s AND at >= %s AND actor = %s AND action = ANY(%s)",
                (org_id, since, actor, list(actions)),
            )
            row = await cur.fetchone()
        return int(row[0]) if row else 0

    async def record_audit(self, entry: AuditEntry) -> None:
        async with self.pool.connection() as conn:
            await conn.execute(
                "INSERT INTO audit_log"
                " (at, namespace, scheduledjob, actor, org_id, action, details)"
                " VALUES (%s, %s, %s, %s, %s, %s, %s)",
                (
                    entry.at,
                    entry.namespace,
                    entry.scheduledjob,
                    entry.actor,
                    entry.org_id,
                    entry.action,
                    Jsonb(entry.details),
                ),
            )


async def _write(conn: AsyncConnection[Any], writes: Sequence[RunWrite]) -> None:
    messages = [m for w in writes for m in w.messages]
    letters = [x for w in writes if (x := run_letter(w.record.bounded())) is not None]
    async with conn.cursor() as cur:
        if len(writes) == 1:  # the common case: one round trip per statement
            await cur.execute(_UPSERT, _params(writes[0].record))
        else:
            await cur.executemany(_UPSERT, [_params(w.record) for w in writes])
        if len(messages) == 1:
            await cur.execute(_ENQUEUE, _message_params(messages)[0])
        elif messages:
            await cur.executemany(_ENQUEUE, _message_params(messages))
    if letters:
        await insert_dead_letters(conn, letters)
    await write_logs(conn, [w.record for w in writes])
