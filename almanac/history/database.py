"""Connecting to the history database: DSN checks, clear start-up errors, the pool.

Start-up is the only place a database problem is fatal, and it must say which of the
usual mistakes it is (wrong password, unreachable host, database missing, malformed URL)
and name ``ALMANAC_DATABASE_URL``, without ever printing the password. After start-up,
outages are absorbed by the write buffer.
"""

from __future__ import annotations

import re
from typing import Any, Final

import psycopg
from psycopg import AsyncConnection
from psycopg.conninfo import conninfo_to_dict, make_conninfo
from psycopg_pool import AsyncConnectionPool

from almanac.history.errors import DATABASE_URL_VARIABLE, DatabaseConfigError
from almanac.history.migrations import migrate

__all__ = [
    "check_database",
    "classify_connect_error",
    "open_pool",
    "prepare_database",
    "redact_dsn",
]

_SCHEMA_NAME: Final = re.compile(r"[a-z_][a-z0-9_]{0,62}")
_REASONS: Final = (
    ("password authentication failed", "auth"),
    ("authentication failed", "auth"),
    ("no password supplied", "auth"),
    ("no pg_hba.conf entry", "auth"),
    ("permission denied", "permission"),
    ("connection refused", "host"),
    ("could not translate host name", "host"),
    ("name or service not known", "host"),
    ("timeout", "host"),
    ("timed out", "host"),
    ("no route to host", "host"),
    ("network is unreachable", "host"),
    ("no such file or directory", "host"),
    # The server answers but is stopping, starting or recovering: down for now, not a
    # configuration mistake (an operator starting meanwhile must still schedule).
    ("the database system is", "host"),
    ("server closed the connection unexpectedly", "host"),
)
_FIXES: Final = {
    "auth": "the server rejected the user or password; fix the credentials in the URL",
    "database_missing": "the database in the URL does not exist; create it or fix its name",
    "permission": "the user may not connect or create tables; grant it or use another user",
    "host": "the host or port did not answer (or Postgres is starting or stopping); check "
    "the address and that Postgres is up",
    "unknown": "check the URL and the server's log",
}


def redact_dsn(dsn: str) -> str:
    """The DSN with its password replaced by ``***``, for messages and logs."""
    try:
        params = conninfo_to_dict(dsn)
    except psycopg.ProgrammingError:
        return "<unparsable URL>"
    if params.get("password"):
        params["password"] = "***"
    return make_conninfo(**{k: str(v) for k, v in params.items() if v is not None})


def classify_connect_error(message: str) -> str:
    """Map a libpq error text to a stable reason (``auth``, ``host``, ``database_missing``...)."""
    lowered = message.lower()
    if "does not exist" in lowered:
        return "database_missing" if "database" in lowered else "auth"  # else: role missing
    return next((reason for needle, reason in _REASONS if needle in lowered), "unknown")


def _config_error(dsn: str, exc: Exception) -> DatabaseConfigError:
    reason = classify_connect_error(str(exc))
    first_line = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    return DatabaseConfigError(
        f"cannot connect to {redact_dsn(dsn)} ({reason}): {first_line}; {_FIXES[reason]}",
        reason=reason,
    )


def _connect_kwargs(schema: str | None) -> dict[str, Any]:
    if schema is None:
        return {}
    if _SCHEMA_NAME.fullmatch(schema) is None:
        raise DatabaseConfigError(
            f"schema {schema!r} is not a plain lower-case SQL identifier; use [a-z_][a-z0-9_]*",
            "schema",
            reason="malformed",
        )
    return {"options": f"-c search_path={schema}"}


async def check_database(dsn: str, *, schema: str | None = None, timeout: float = 5.0) -> None:
    """Connect once and run ``SELECT 1``; raise :class:`DatabaseConfigError` on any failure."""
    if not dsn:
        raise DatabaseConfigError(
            f"{DATABASE_URL_VARIABLE} is empty; set it to postgresql://user:password@host:port/db",
            reason="malformed",
        )
    try:
        conninfo_to_dict(dsn)
    except psycopg.ProgrammingError as exc:
        raise DatabaseConfigError(
            f"{DATABASE_URL_VARIABLE} is not a valid connection URL ({exc}); "
            "use postgresql://user:password@host:port/db",
            reason="malformed",
        ) from None
    try:
        async with await AsyncConnection.connect(
            dsn, connect_timeout=max(1, int(timeout)), **_connect_kwargs(schema)
        ) as conn:
            await conn.execute("SELECT 1")
    except psycopg.Error as exc:
        raise _config_error(dsn, exc) from None
    except OSError as exc:
        raise _config_error(dsn, exc) from None


async def prepare_database(
    dsn: str, *, schema: str | None = None, timeout: float = 5.0
) -> list[int]:
    """Check the DSN, create ``schema`` if given, and apply pending migrations.

    Returns the migration versions this call applied (empty when up to date). Raises
    :class:`DatabaseConfigError` naming ``ALMANAC_DATABASE_URL`` when anything fails.
    """
    await check_database(dsn, timeout=timeout)
    try:
        async with await AsyncConnection.connect(
            dsn, connect_timeout=max(1, int(timeout)), autocommit=True
        ) as conn:
            if schema is not None:
                _connect_kwargs(schema)  # validates the identifier
                await conn.execute(
                    psycopg.sql.SQL("CREATE SCHEMA IF NOT EXISTS {}").format(
                        psycopg.sql.Identifier(schema)
                    )
                )
                await conn.execute(
                    psycopg.sql.SQL("SET search_path TO {}").format(psycopg.sql.Identifier(schema))
                )
            return await migrate(conn)
    except psycopg.Error as exc:
        raise _config_error(dsn, exc) from None


def open_pool(
    dsn: str,
    *,
    schema: str | None = None,
    min_size: int = 1,
    max_size: int = 4,
    timeout: float = 5.0,
    connect_timeout: float = 5.0,
) -> AsyncConnectionPool:
    """An unopened pool; ``await pool.open()`` (or ``open(wait=False)``) before use.

    ``timeout`` bounds how long a caller waits for a connection, so an outage surfaces as
    a fast error the buffer can absorb rather than a stall; the pool keeps reconnecting in
    the background.
    """
    # Autocommit: a lone statement is one round trip, not BEGIN, statement, COMMIT. Every
    # write of several statements that must land together opens ``conn.transaction()``.
    kwargs: dict[str, Any] = {"connect_timeout": max(1, int(connect_timeout)), "autocommit": True}
    kwargs.update(_connect_kwargs(schema))
    return AsyncConnectionPool(
        dsn,
        min_size=min_size,
        max_size=max_size,
        timeout=timeout,
        kwargs=kwargs,
        open=False,
        name="almanac-history",
    )
