"""Run-history benchmark: insert throughput and list-runs latency at a million rows.

Run by hand against the stack's Postgres (``make stack``)::

    eval "$(hack/stack env)"; .venv/bin/python hack/bench/history_bench.py

It works in a schema of its own (created, migrated, dropped at the end) and prints a
table. Targets: ≥ 1,000 run records per second written through the store, and list-runs
p99 ≤ 50 ms with 1,000,000 rows (1,000 ScheduledJobs x 1,000 runs, 100 namespaces).

1. insert: ``record_run`` one at a time from 8 concurrent tasks (each its own
   transaction with one outbox message), then ``record_runs`` in batches of 200, then
   through the ``BufferedRecorder`` (what the operator uses: submit, flushed in batches);
2. fill: the rest of the million rows by ``INSERT ... SELECT generate_series`` (bulk, not
   measured against the target), then ``VACUUM (ANALYZE)`` as autovacuum would;
3. query: ``list_runs`` for random ScheduledJobs: first page (once cold, once warm), a
   later page, a status filter; and ``stats``. Latencies include the client round trip.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import statistics
import time
import uuid
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta

import psycopg
from psycopg import sql

from almanac.core.status import RunPhase
from almanac.history import (
    BufferedRecorder,
    OutboxMessage,
    PostgresRunStore,
    RunRecord,
    RunWrite,
    open_pool,
    prepare_database,
)
from almanac.history.states import RunState

EPOCH = datetime(2026, 1, 1, tzinfo=UTC)
JOBS = 1000
NAMESPACES = 100
# Rows as record_run would write them: job g % 1000, namespace g % 100, every 10th failed.
_FILL = """
INSERT INTO job_runs (namespace, scheduledjob, scheduledjob_uid, run_name, template, trigger,
    slot, attempt, status, started_at, finished_at, exit_code, result, error)
SELECT 'org-' || lpad((g %% 100)::text, 6, '0'),
    'job-' || (g %% 1000),
    '00000000-0000-0000-0000-' || lpad(to_hex(g %% 1000 + 1), 12, '0'),
    'fill-' || g, 'command', 'schedule',
    %(epoch)s + make_interval(mins => g / 1000 + 100000),
    1,
    CASE WHEN g %% 10 = 0 THEN 'Failed' ELSE 'Succeeded' END,
    %(epoch)s + make_interval(mins => g / 1000 + 100000, secs => 1),
    %(epoch)s + make_interval(mins => g / 1000 + 100000, secs => 2 + g %% 60),
    CASE WHEN g %% 10 = 0 THEN 1 ELSE 0 END,
    '{"status": "ok", "summary": "done"}'::jsonb,
    CASE WHEN g %% 10 = 0 THEN 'exit code 1' END
FROM generate_series(1, %(n)s) AS g
"""


def _uid(job: int) -> str:
    return str(uuid.UUID(int=job + 1))


def _record(job: int, n: int, prefix: str) -> RunRecord:
    slot = EPOCH + timedelta(minutes=n)
    return RunRecord(
        namespace=f"org-{job % NAMESPACES:06d}",
        scheduledjob=f"job-{job}",
        scheduledjob_uid=_uid(job),
        run_name=f"{prefix}-{job}-{n}",
        slot=slot,
        phase=RunPhase.SUCCEEDED,
        template="command",
        started_at=slot + timedelta(seconds=1),
        finished_at=slot + timedelta(seconds=1 + n % 60),
        exit_code=0,
        result={"status": "ok", "summary": "done", "details": {"n": n}},
    )


def _percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]


async def _timed(calls: list[Callable[[], Awaitable[object]]]) -> list[float]:
    times = []
    for call in calls:
        start = time.perf_counter()
        await call()
        times.append((time.perf_counter() - start) * 1000)
    return times


async def bench(dsn: str, rows: int, single: int, batched: int, queries: int) -> None:
    schema = f"bench_{uuid.uuid4().hex[:8]}"
    await prepare_database(dsn, schema=schema)
    pool = open_pool(dsn, schema=schema, max_size=8, timeout=30)
    await pool.open(wait=True)
    store = PostgresRunStore(pool)
    table: list[tuple[str, str]] = []
    try:
        # 1. insert throughput through the store
        queue = list(range(single))

        async def worker() -> None:
            while queue:
                i = queue.pop()
                record = _record(i % JOBS, i, "single")
                message = OutboxMessage(f"single-{i}", "bench", record.scheduledjob_uid, {"i": i})
                await store.record_run(record, [message])

        start = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(8)))
        rate_single = single / (time.perf_counter() - start)
        table.append(("insert, record_run x8 concurrent", f"{rate_single:,.0f} runs/s"))

        start = time.perf_counter()
        for first in range(0, batched, 200):
            await store.record_runs(
                [RunWrite(_record(i % JOBS, i, "batch")) for i in range(first, first + 200)]
            )
        rate_batch = batched / (time.perf_counter() - start)
        table.append(("insert, record_runs batches of 200", f"{rate_batch:,.0f} runs/s"))

        recorder = BufferedRecorder(store, capacity=batched + 1)
        start = time.perf_counter()
        for i in range(batched):
            recorder.submit(_record(i % JOBS, i, "buffered"))
        await recorder.flush()
        rate_buffer = batched / (time.perf_counter() - start)
        table.append(("insert, BufferedRecorder submit+flush", f"{rate_buffer:,.0f} runs/s"))

        # 2. bulk fill to `rows`
        start = time.perf_counter()
        missing = max(0, rows - single - 2 * batched)
        async with pool.connection() as conn:
            await conn.execute(_FILL, {"epoch": EPOCH, "n": missing})
            cur = await conn.execute("SELECT count(*) FROM job_runs")
            total = (await cur.fetchone() or (0,))[0]
        # autovacuum's steady state: statistics and the visibility map (index-only counts)
        async with await psycopg.AsyncConnection.connect(
            dsn, autocommit=True, options=f"-c search_path={schema}"
        ) as conn:
            await conn.execute("VACUUM (ANALYZE) job_runs")
        table.append(
            (f"bulk fill to {total:,} rows + VACUUM", f"{time.perf_counter() - start:.1f} s")
        )

        # 3. list-runs latency
        rng = random.Random(1)
        jobs = [rng.randrange(JOBS) for _ in range(queries)]
        shapes: list[tuple[str, Callable[[int], Callable[[], Awaitable[object]]]]] = [
            (
                "list_runs first page (50), cold cache",
                lambda j: (
                    lambda: store.list_runs(f"org-{j % NAMESPACES:06d}", scheduledjob_uid=_uid(j))
                ),
            ),
            (
                "list_runs first page (50), warm",
                lambda j: (
                    lambda: store.list_runs(f"org-{j % NAMESPACES:06d}", scheduledjob_uid=_uid(j))
                ),
            ),
            (
                "list_runs offset 500",
                lambda j: (
                    lambda: store.list_runs(
                        f"org-{j % NAMESPACES:06d}", scheduledjob_uid=_uid(j), offset=500
                    )
                ),
            ),
            (
                "list_runs status=Failed by name",
                lambda j: (
                    lambda: store.list_runs(
                        f"org-{j % NAMESPACES:06d}",
                        scheduledjob=f"job-{j}",
                        statuses=[RunState.FAILED],
                    )
                ),
            ),
            (
                "stats (percentiles, top errors, hours)",
                lambda j: lambda: store.stats(f"org-{j % NAMESPACES:06d}", _uid(j)),
            ),
        ]
        for label, make in shapes:
            times = await _timed([make(j) for j in jobs])
            table.append(
                (
                    label,
                    f"p50 {statistics.median(times):.1f} ms, p99 {_percentile(times, 0.99):.1f} ms"
                    f" ({len(times)} queries)",
                )
            )
    finally:
        await pool.close()
        async with await psycopg.AsyncConnection.connect(dsn, autocommit=True) as conn:
            await conn.execute(
                sql.SQL("DROP SCHEMA IF EXISTS {} CASCADE").format(sql.Identifier(schema))
            )
    width = max(len(label) for label, _ in table)
    print(f"{'measure'.ljust(width)}  result")
    for label, value in table:
        print(f"{label.ljust(width)}  {value}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--dsn", default=os.environ.get("ALMANAC_DATABASE_URL"))
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--single", type=int, default=5_000)
    parser.add_argument("--batched", type=int, default=20_000)
    parser.add_argument("--queries", type=int, default=500)
    args = parser.parse_args()
    if not args.dsn:
        parser.error('set ALMANAC_DATABASE_URL (eval "$(hack/stack env)") or pass --dsn')
    asyncio.run(bench(args.dsn, args.rows, args.single, args.batched, args.queries))


if __name__ == "__main__":
    main()
