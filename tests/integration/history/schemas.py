"""A fresh, migrated Postgres schema per test: tests never see each other's rows."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import psycopg
from psycopg import sql
from psycopg_pool import AsyncConnectionPool

from almanac.history import open_pool, prepare_database

__all__ = ["fresh_schema", "new_schema_name"]


def new_schema_name() -> str:
    return f"t_{uuid.uuid4().hex[:12]}"


async def drop_schema(dsn: str, schema: str) -> None:
    async with await psycopg.AsyncConnection.connect(dsn, autocommit=True) as conn:
        await conn.execute(
            sql.SQL("DROP SCHEMA IF EXISTS {} CASCADE").format(sql.Identifier(schema))
        )


@asynccontextmanager
async def fresh_schema(dsn: str) -> AsyncIterator[tuple[AsyncConnectionPool, str]]:
    """Create and migrate a random schema, yield an open pool on it, then drop it."""
    schema = new_schema_name()
    await prepare_database(dsn, schema=schema)
    pool = open_pool(dsn, schema=schema, max_size=4, timeout=10)
    await pool.open(wait=True, timeout=10)
    try:
        yield pool, schema
    finally:
        await pool.close()
        await drop_schema(dsn, schema)
