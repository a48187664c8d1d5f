"""Fixtures of the history integration tests: the stack's real Postgres, a schema each."""

from __future__ import annotations

from collections.abc import AsyncIterator
from urllib.parse import urlsplit, urlunsplit

import pytest
from psycopg_pool import AsyncConnectionPool

from almanac.history import PostgresRunStore
from tests.integration.history.proxy import LateProxy
from tests.integration.history.schemas import fresh_schema


@pytest.fixture
def dsn(stack: dict[str, str]) -> str:
    return stack["ALMANAC_DATABASE_URL"]


@pytest.fixture
async def schema_pool(dsn: str) -> AsyncIterator[tuple[AsyncConnectionPool, str]]:
    async with fresh_schema(dsn) as fresh:
        yield fresh


@pytest.fixture
def pool(schema_pool: tuple[AsyncConnectionPool, str]) -> AsyncConnectionPool:
    return schema_pool[0]


@pytest.fixture
def store(pool: AsyncConnectionPool) -> PostgresRunStore:
    return PostgresRunStore(pool)


@pytest.fixture
async def proxy(dsn: str) -> AsyncIterator[LateProxy]:
    target = urlsplit(dsn)
    assert target.hostname is not None
    assert target.port is not None
    late = LateProxy(target.hostname, target.port)
    yield late
    await late.stop()


def through(dsn: str, port: int) -> str:
    parts = urlsplit(dsn)
    credentials = parts.netloc.rsplit("@", 1)[0]
    return urlunsplit(parts._replace(netloc=f"{credentials}@127.0.0.1:{port}"))
