"""Run log tails in Postgres: one row per run in ``run_logs``, beside ``job_runs``.

A separate table because lists and stats read many runs and never their logs; a foreign
key to the run with ``ON DELETE CASCADE`` makes the retention of logs the retention of
runs (invariant nothing-lost covers the run rows; a log is kept as long as its run).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Final

from psycopg import AsyncConnection

from almanac.core.logtail import LogTail
from almanac.history.records import RunRecord

__all__ = ["read_log", "write_logs"]

#: A later read of the same run (a record written again) replaces the tail: it is newer.
_UPSERT: Final = """
INSERT INTO run_logs (scheduledjob_uid, run_name, lines, truncated) VALUES (%s, %s, %s, %s)
ON CONFLICT (scheduledjob_uid, run_name)
DO UPDATE SET lines = EXCLUDED.lines, truncated = EXCLUDED.truncated
"""
_SELECT: Final = (
    "SELECT lines, truncated FROM run_logs WHERE scheduledjob_uid = %s AND run_name = %s"
)


async def write_logs(conn: AsyncConnection[Any], records: Sequence[RunRecord]) -> None:
    """Store the log tails of ``records`` (those that carry one), after their run rows."""
    rows = [
        (r.scheduledjob_uid, r.run_name, list(r.log.lines), r.log.truncated)
        for r in records
        if r.log is not None
    ]
    if rows:
        async with conn.cursor() as cur:
            await cur.executemany(_UPSERT, rows)


async def read_log(
    conn: AsyncConnection[Any], scheduledjob_uid: str, run_name: str
) -> LogTail | None:
    async with conn.cursor() as cur:
        await cur.execute(_SELECT, (scheduledjob_uid, run_name))
        row = await cur.fetchone()
    return None if row is None else LogTail(tuple(row[0]), bool(row[1]))
