"""Opening and closing the history for one process (called from the composition root).

:meth:`History.open` is the start-up path: resolve the DSN (``ALMANAC_DATABASE_URL``, or
the embedded server when unset), fail fast with a :class:`DatabaseConfigError` if it is
unusable, migrate under the advisory lock, and open the pool. Nothing here is module-level:
the caller keeps the :class:`History` and closes it.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from psycopg_pool import AsyncConnectionPool

from almanac.history.database import open_pool, prepare_database
from almanac.history.embedded import EmbeddedPostgres, start_embedded_postgres
from almanac.history.errors import DATABASE_URL_VARIABLE
from almanac.history.postgres import PostgresRunStore

__all__ = ["History", "default_embedded_dir"]


def default_embedded_dir(env: Mapping[str, str] | None = None) -> Path:
    """Where the embedded server keeps its data when no directory is given."""
    env = os.environ if env is None else env
    return Path(env.get("XDG_STATE_HOME") or "~/.local/state").expanduser() / "almanac/pgdata"


@dataclass
class History:
    """The pool, the store over it, and the embedded server if one was started."""

    pool: AsyncConnectionPool
    store: PostgresRunStore
    dsn: str
    embedded: EmbeddedPostgres | None = None

    @classmethod
    async def open(
        cls,
        dsn: str | None,
        *,
        schema: str | None = None,
        embedded_dir: Path | None = None,
        pool_size: int = 4,
        timeout: float = 5.0,
    ) -> History:
        """Resolve, check, migrate and open; raise a :class:`HistoryError` subclass on failure."""
        embedded = None
        if not dsn:
            data_dir = (embedded_dir or default_embedded_dir()).expanduser()
            embedded = await asyncio.to_thread(start_embedded_postgres, data_dir)
            dsn = embedded.dsn
        await prepare_database(dsn, schema=schema, timeout=timeout)
        pool = open_pool(dsn, schema=schema, max_size=pool_size, timeout=timeout)
        await pool.open(wait=True, timeout=timeout)
        return cls(pool=pool, store=PostgresRunStore(pool), dsn=dsn, embedded=embedded)

    @classmethod
    async def from_env(
        cls, env: Mapping[str, str] | None = None, *, embedded_dir: Path | None = None
    ) -> History:
        """:meth:`open` with ``ALMANAC_DATABASE_URL`` (embedded server when unset)."""
        env = os.environ if env is None else env
        return await cls.open(env.get(DATABASE_URL_VARIABLE) or None, embedded_dir=embedded_dir)

    async def aclose(self) -> None:
        """Close the pool, then stop the embedded server if this process started it."""
        await self.pool.close()
        if self.embedded is not None:
            await asyncio.to_thread(self.embedded.stop)
