"""Fixtures of the notify integration tests: a fresh schema on the stack's Postgres, and
notification settings with topics of the test's own."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator

import pytest
from psycopg_pool import AsyncConnectionPool

from almanac.history import PostgresRunStore
from almanac.notify import NotifySettings
from tests.integration.history.schemas import fresh_schema


@pytest.fixture
async def pool(stack: dict[str, str]) -> AsyncIterator[AsyncConnectionPool]:
    async with fresh_schema(stack["ALMANAC_DATABASE_URL"]) as (pool, _schema):
        yield pool


@pytest.fixture
def store(pool: AsyncConnectionPool) -> PostgresRunStore:
    return PostgresRunStore(pool)


@pytest.fixture
def settings(stack: dict[str, str]) -> NotifySettings:
    """Notices and events on fresh topics, so a test reads only its own records."""
    suffix = uuid.uuid4().hex[:8]
    return NotifySettings(
        enabled=True,
        bootstrap=stack["ALMANAC_KAFKA_BOOTSTRAP"],
        notify_topic=f"t-notify-{suffix}",
        events_topic=f"t-events-{suffix}",
    )
