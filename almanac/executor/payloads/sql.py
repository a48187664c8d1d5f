"""``sql`` payload: one parameterised statement against a PostgreSQL database.

Params (camelCase)::

    dsn: {secretKeyRef: {name, key}}     (a libpq URI or key=value string; Secret only)
    statement: "DELETE FROM sessions WHERE expires < now() - %(age)s::interval"
    parameters: {age: "30 days"}         (or a list for %s placeholders)
    dryRun: false                        (true: run it, report, roll back)
    timeout: 30s                         (connect, and statement_timeout)

The statement runs in one transaction; ``dryRun`` rolls that transaction back, so the
rows-affected figure is real but nothing changes. Values travel as bind parameters,
never formatted into the SQL text.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from typing import Any, Final

import psycopg
from pydantic import Field

from almanac.core.base import Duration
from almanac.executor.context import PayloadContext
from almanac.executor.errors import PayloadFailedError
from almanac.executor.paramsmodel import ParamsModel, parse_params
from almanac.executor.payloads.common import JsonValue, seconds
from almanac.executor.result import Result
from almanac.executor.secrets import SecretRef

__all__ = ["SqlParams", "execute"]

_ROWS_KEPT: Final = 5


class SqlParams(ParamsModel):
    """Params of the ``sql`` payload."""

    dsn: SecretRef = Field(description="Connection string, from a Secret.")
    statement: str = Field(min_length=1, max_length=100_000, description="One SQL statement.")
    parameters: list[JsonValue] | dict[str, JsonValue] | None = Field(
        None, description="Bind parameters (%s list or %(name)s map)."
    )
    dry_run: bool = Field(False, description="Roll the transaction back.")
    timeout: Duration = Field("30s", description="Connect and statement deadline.")


async def execute(raw: Mapping[str, Any], ctx: PayloadContext) -> Result:
    """Run the statement in one transaction; commit unless ``dryRun``."""
    params = parse_params(SqlParams, raw)
    dsn = ctx.secrets.read(params.dsn, "params.dsn").strip()
    timeout = seconds(params.timeout, "params.timeout")
    columns: list[str] = []
    rows: list[list[str]] = []
    try:
        async with asyncio.timeout(timeout + 1):
            conn = await psycopg.AsyncConnection.connect(
                dsn, connect_timeout=max(1, int(timeout)), autocommit=False
            )
            async with conn:
                async with conn.cursor() as cur:
                    await cur.execute(
                        "SELECT set_config('statement_timeout', %s, true)",
                        [str(int(timeout * 1000))],
                    )
                    await cur.execute(params.statement.encode(), params.parameters)
                    affected = cur.rowcount
                    if cur.description:
                        columns = [c.name for c in cur.description]
                        rows = [[str(v) for v in r] for r in await cur.fetchmany(_ROWS_KEPT)]
                if params.dry_run:
                    await conn.rollback()
                else:
                    await conn.commit()
    except TimeoutError:
        raise PayloadFailedError(
            f"the statement did not finish within {params.timeout}; raise params.timeout",
            "params.timeout",
        ) from None
    except psycopg.errors.QueryCanceled:
        raise PayloadFailedError(
            f"the statement was cancelled after {params.timeout} (statement_timeout); "
            "raise params.timeout",
            "params.timeout",
        ) from None
    except psycopg.OperationalError as exc:
        raise PayloadFailedError(
            f"cannot run the statement: {str(exc).strip()}; check the database named by "
            "the params.dsn Secret",
            "params.dsn",
        ) from None
    except psycopg.Error as exc:
        raise PayloadFailedError(
            f"the statement failed: {type(exc).__name__}: {str(exc).strip()}",
            "params.statement",
            {"sqlstate": exc.sqlstate},
        ) from None
    verb = "would affect" if params.dry_run else "affected"
    details: dict[str, Any] = {"rowsAffected": affected, "dryRun": params.dry_run}
    if columns:
        details |= {"columns": columns, "rows": rows}
    return Result.succeeded(
        f"statement {verb} {affected} rows" + (" (rolled back)" if params.dry_run else ""),
        **details,
    )
