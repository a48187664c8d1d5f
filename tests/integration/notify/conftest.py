"""Fixtures of the notify integration tests: a fresh schema on the stack's Postgres."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from psycopg_pool import AsyncConnectionPool

from almanac.history import PostgresRunStore
from tests.integration.history.schemas import fresh_schema


@pytest.fixture
async def pool(stack: dict[str, str]) -> AsyncIterator[AsyncConnectionPool]:
    async with fresh_schema(stack["ALMANAC_DATABASE_URL"]) as (pool, _schema):
        yield pool


@pytest.fixture
def store(pool: AsyncConnectionPool) -> PostgresRunStore:
    return PostgresRunStore(pool)
