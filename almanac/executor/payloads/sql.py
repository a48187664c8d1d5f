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

A dry run must not be able to commit itself, so it is held by three layers:

1. the text is refused before connecting if it holds more than one statement or opens
   with transaction control (``COMMIT``, ``END``, ``PREPARE TRANSACTION``, ``CALL`` ...;
   :mod:`~almanac.executor.payloads.sqltext`), naming ``params.statement``;
2. it is sent over the extended query protocol (``prepare=True``), where the server
   refuses several statements in one query. Without parameters psycopg would otherwise
   use the simple protocol, which runs ``INSERT ...; COMMIT`` as two statements, and
   ``parameters: []`` does not change that;
3. the transaction must still be open after the statement, or the run fails saying so.

Not covered, because no transaction can undo them: sequence increments, ``COPY ... TO``
a file or program, and writes through dblink or foreign tables.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Final, Self

import psycopg
from psycopg.pq import TransactionStatus
from pydantic import Field, model_validator

from almanac.core.base import Duration
from almanac.executor.context import PayloadContext
from almanac.executor.errors import PayloadFailedError
from almanac.executor.paramsmodel import ParamError, ParamsModel, parse_params
from almanac.executor.payloads.common import JsonValue, seconds
from almanac.executor.payloads.sqltext import dry_run_problem
from almanac.executor.result import Result
from almanac.executor.secrets import SecretRef

__all__ = ["SqlParams", "StatementOutcome", "execute", "run_statement"]

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

    @model_validator(mode="after")
    def _check_dry_run(self) -> Self:
        problem = dry_run_problem(self.statement) if self.dry_run else None
        if problem is not None:
            raise ParamError("statement", problem)
        return self


@dataclass(frozen=True)
class StatementOutcome:
    """Rows affected, and the first rows of a statement that returns some."""

    affected: int
    columns: list[str]
    rows: list[list[str]]


async def run_statement(
    dsn: str,
    statement: str,
    parameters: list[JsonValue] | dict[str, JsonValue] | None,
    *,
    dry_run: bool,
    timeout: float,
) -> StatementOutcome:
    """Run ``statement`` in one transaction; commit it, or roll it back if ``dry_run``.

    Raises
    ------
    psycopg.Error
        Connection or statement failures (the caller names the field).
    PayloadFailedError
        A dry run's statement ended its own transaction (layer 3 of the module docstring).
    """
    columns: list[str] = []
    rows: list[list[str]] = []
    conn = await psycopg.AsyncConnection.connect(
        dsn, connect_timeout=max(1, int(timeout)), autocommit=False
    )
    async with conn:
        async with conn.cursor() as cur:
            await cur.execute(
                "SELECT set_config('statement_timeout', %s, true)", [str(int(timeout * 1000))]
            )
            await cur.execute(statement.encode(), parameters, prepare=True if dry_run else None)
            affected = cur.rowcount
            if cur.description:
                columns = [c.name for c in cur.description]
                rows = [[str(v) for v in r] for r in await cur.fetchmany(_ROWS_KEPT)]
        if not dry_run:
            await conn.commit()
        elif conn.info.transaction_status is TransactionStatus.INTRANS:
            await conn.rollback()
        else:
            raise PayloadFailedError(
                "the dry run's statement ended its own transaction, so what it did may be "
                "committed; check the database, and keep transaction control out of dry runs",
                "params.statement",
            )
    return StatementOutcome(affected, columns, rows)


async def execute(raw: Mapping[str, Any], ctx: PayloadContext) -> Result:
    """Run the statement in one transaction; commit unless ``dryRun``."""
    params = parse_params(SqlParams, raw)
    dsn = ctx.secrets.read(params.dsn, "params.dsn").strip()
    timeout = seconds(params.timeout, "params.timeout")
    try:
        async with asyncio.timeout(timeout + 1):
            outcome = await run_statement(
                dsn,
                params.statement,
                params.parameters,
                dry_run=params.dry_run,
                timeout=timeout,
            )
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
    details: dict[str, Any] = {"rowsAffected": outcome.affected, "dryRun": params.dry_run}
    if outcome.columns:
        details |= {"columns": outcome.columns, "rows": outcome.rows}
    return Result.succeeded(
        f"statement {verb} {outcome.affected} rows" + (" (rolled back)" if params.dry_run else ""),
        **details,
    )
