"""The dead letters' SQL (table ``dead_letters``, migration 4), for
:class:`~almanac.history.postgres.PostgresRunStore`.

A letter is inserted once per key (``ON CONFLICT DO NOTHING``): a run's letter rides in the
transaction of the run's row, a replay of either changes nothing. Every read and the
requeue mark are scoped to a namespace, so a letter id from another organisation is not
found. The requeue mark keeps the first requeue (``COALESCE``): asking twice names the same
run, as the retry it stands for does.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any, Final

from psycopg import AsyncConnection
from psycopg.rows import dict_row

from almanac.history.aggregates import window_conditions
from almanac.history.deadletters import DeadLetter, LetterKind
from almanac.history.store import LetterPage

__all__ = ["get_dead_letter", "insert_dead_letters", "list_dead_letters", "mark_requeued"]

_COLUMNS: Final = (
    "kind",
    "namespace",
    "scheduledjob",
    "scheduledjob_uid",
    "subject",
    "reason",
    "at",
    "topic",
    "value",
)
_INSERT: Final = (
    f"INSERT INTO dead_letters ({', '.join(_COLUMNS)})"
    f" VALUES ({', '.join(['%s'] * len(_COLUMNS))})"
    " ON CONFLICT ON CONSTRAINT dead_letters_key DO NOTHING"
)
_SELECT: Final = f"SELECT id, {', '.join(_COLUMNS)}, requeued_at, requeued_run FROM dead_letters"
_MARK: Final = (
    "UPDATE dead_letters SET requeued_at = COALESCE(requeued_at, %(at)s),"
    " requeued_run = COALESCE(requeued_run, %(run)s)"
    " WHERE namespace = %(ns)s AND id = %(id)s"
    f" RETURNING id, {', '.join(_COLUMNS)}, requeued_at, requeued_run"
)


def _letter(row: dict[str, Any]) -> DeadLetter:
    return DeadLetter(**(row | {"kind": LetterKind(row["kind"])}))


async def insert_dead_letters(conn: AsyncConnection[Any], letters: Sequence[DeadLetter]) -> None:
    """Insert ``letters`` (those already stored are left as they are)."""
    rows = [(x.kind.value, *(getattr(x, c) for c in _COLUMNS[1:])) for x in letters]
    async with conn.cursor() as cur:
        await cur.executemany(_INSERT, rows)


async def list_dead_letters(
    conn: AsyncConnection[Any],
    namespace: str,
    *,
    scheduledjob_uid: str | None,
    kind: LetterKind | None,
    since: datetime | None,
    until: datetime | None,
    limit: int,
    offset: int,
) -> LetterPage:
    """A namespace's letters, newest first, whose ``at`` is in ``[since, until]``."""
    where, params = window_conditions(since, until, column="at")
    where.append("namespace = %(ns)s")
    params |= {"ns": namespace, "limit": limit, "offset": offset}
    if scheduledjob_uid is not None:
        where.append("scheduledjob_uid = %(uid)s")
        params["uid"] = scheduledjob_uid
    if kind is not None:
        where.append("kind = %(kind)s")
        params["kind"] = kind.value
    condition = " AND ".join(where)
    async with conn.cursor(row_factory=dict_row) as cur:
        await cur.execute(
            f"{_SELECT} WHERE {condition} ORDER BY at DESC, id DESC"
            " LIMIT %(limit)s OFFSET %(offset)s",
            params,
        )
        letters = [_letter(r) for r in await cur.fetchall()]
        await cur.execute(f"SELECT count(*) AS n FROM dead_letters WHERE {condition}", params)
        total = await cur.fetchone()
    return letters, int(total["n"]) if total else 0


async def get_dead_letter(
    conn: AsyncConnection[Any], namespace: str, letter_id: int
) -> DeadLetter | None:
    """The letter ``letter_id`` of ``namespace``, or ``None``."""
    async with conn.cursor(row_factory=dict_row) as cur:
        await cur.execute(f"{_SELECT} WHERE namespace = %s AND id = %s", (namespace, letter_id))
        row = await cur.fetchone()
    return _letter(row) if row is not None else None


async def mark_requeued(
    conn: AsyncConnection[Any], namespace: str, letter_id: int, run: str, at: datetime
) -> DeadLetter | None:
    """Mark the letter requeued as ``run`` (the first mark stays); ``None``: no such letter."""
    async with conn.cursor(row_factory=dict_row) as cur:
        await cur.execute(_MARK, {"ns": namespace, "id": letter_id, "run": run, "at": at})
        row = await cur.fetchone()
    return _letter(row) if row is not None else None
