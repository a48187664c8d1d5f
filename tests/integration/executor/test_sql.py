"""The sql payload against the local stack's PostgreSQL, DSN from a Secret file; dry runs
that could commit themselves leave no row (the three layers of almanac/executor/payloads/sql.py)."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest

from almanac.executor.errors import PayloadFailedError
from almanac.executor.payloads.sql import run_statement
from tests.integration.executor.conftest import RunExecutor, write_secret


@pytest.fixture
def table(stack: dict[str, str]) -> Iterator[str]:
    """A fresh schema with table ``items(v int)`` holding 1..5; dropped afterwards."""
    schema = f"exec_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(stack["ALMANAC_DATABASE_URL"], autocommit=True) as conn:
        conn.execute(f"CREATE SCHEMA {schema}")
        conn.execute(f"CREATE TABLE {schema}.items (v int)")
        conn.execute(f"INSERT INTO {schema}.items SELECT generate_series(1, 5)")
    try:
        yield f"{schema}.items"
    finally:
        with psycopg.connect(stack["ALMANAC_DATABASE_URL"], autocommit=True) as conn:
            conn.execute(f"DROP SCHEMA {schema} CASCADE")


@pytest.fixture
def dsn(stack: dict[str, str], secrets_dir: Path) -> dict[str, Any]:
    return write_secret(secrets_dir, "reporting-db", "dsn", stack["ALMANAC_DATABASE_URL"] + "\n")


def count(stack: dict[str, str], table: str) -> int:
    with psycopg.connect(stack["ALMANAC_DATABASE_URL"]) as conn:
        row = conn.execute(f"SELECT count(*) FROM {table}").fetchone()
    return int(row[0]) if row else -1


def test_statement_with_parameters_reports_rows_affected(
    run_executor: RunExecutor, stack: dict[str, str], table: str, dsn: dict[str, Any]
) -> None:
    params = {
        "dsn": dsn,
        "statement": f"DELETE FROM {table} WHERE v > %(limit)s",
        "parameters": {"limit": 2},
    }
    run = run_executor("sql", params)
    assert run.code == 0, run.result
    assert run.details == {"rowsAffected": 3, "dryRun": False}
    assert count(stack, table) == 2
    assert stack["ALMANAC_DATABASE_URL"] not in str(run.logs) + str(run.result)


def test_dry_run_rolls_back(
    run_executor: RunExecutor, stack: dict[str, str], table: str, dsn: dict[str, Any]
) -> None:
    params = {"dsn": dsn, "statement": f"DELETE FROM {table}", "dryRun": True}
    run = run_executor("sql", params)
    assert run.result["summary"] == "statement would affect 5 rows (rolled back)"
    assert count(stack, table) == 5


def test_select_keeps_the_first_rows(
    run_executor: RunExecutor, table: str, dsn: dict[str, Any]
) -> None:
    params = {
        "dsn": dsn,
        "statement": f"SELECT v FROM {table} WHERE v >= %s ORDER BY v",
        "parameters": [4],
    }
    run = run_executor("sql", params)
    assert (run.details["columns"], run.details["rows"]) == (["v"], [["4"], ["5"]])


def test_bad_statement_fails_with_sqlstate(
    run_executor: RunExecutor, table: str, dsn: dict[str, Any]
) -> None:
    run = run_executor("sql", {"dsn": dsn, "statement": f"SELECT nope FROM {table}"})
    assert run.code == 1
    assert run.details["field"] == "params.statement"
    assert run.details["sqlstate"] == "42703"


def test_unreachable_database_fails_naming_the_dsn(
    run_executor: RunExecutor, secrets_dir: Path, closed_port: int
) -> None:
    url = f"postgresql://nobody:pw-not-logged@127.0.0.1:{closed_port}/db"
    ref = write_secret(secrets_dir, "reporting-db", "dsn", url)
    run = run_executor("sql", {"dsn": ref, "statement": "SELECT 1", "timeout": "5s"})
    assert run.code == 1
    assert run.details["field"] == "params.dsn"
    assert "pw-not-logged" not in str(run.result) + str(run.logs)


@pytest.mark.parametrize(
    "statement",
    [
        pytest.param("INSERT INTO {table} VALUES (99); COMMIT", id="insert-then-commit"),
        pytest.param("COMMIT", id="commit"),
        pytest.param("INSERT INTO {table} VALUES (99); END", id="insert-then-end"),
        pytest.param("INSERT INTO {table} VALUES (99); PREPARE TRANSACTION 'x'", id="prepare"),
    ],
)
def test_dry_run_that_would_commit_is_refused_and_leaves_no_row(
    run_executor: RunExecutor,
    stack: dict[str, str],
    table: str,
    dsn: dict[str, Any],
    statement: str,
) -> None:
    run = run_executor(
        "sql", {"dsn": dsn, "statement": statement.format(table=table), "dryRun": True}
    )
    assert run.code == 1
    assert (run.details["error"], run.details["field"]) == ("invalid_params", "params.statement")
    assert count(stack, table) == 5


def test_dry_run_of_a_block_that_commits_fails_and_leaves_no_row(
    run_executor: RunExecutor, stack: dict[str, str], table: str, dsn: dict[str, Any]
) -> None:
    block = f"DO $$BEGIN INSERT INTO {table} VALUES (99); COMMIT; END$$"
    run = run_executor("sql", {"dsn": dsn, "statement": block, "dryRun": True})
    assert run.code == 1
    assert run.details["sqlstate"] == "2D000"  # invalid transaction termination
    assert count(stack, table) == 5


def test_real_run_of_an_insert_commits(
    run_executor: RunExecutor, stack: dict[str, str], table: str, dsn: dict[str, Any]
) -> None:
    run = run_executor("sql", {"dsn": dsn, "statement": f"INSERT INTO {table} VALUES (99)"})
    assert run.code == 0, run.result
    assert count(stack, table) == 6


async def test_dry_run_protocol_refuses_several_statements_even_past_the_text_check(
    stack: dict[str, str], table: str
) -> None:
    """Layer 2: without parameters psycopg would use the simple protocol, which runs both."""
    with pytest.raises(psycopg.errors.SyntaxError, match="multiple commands"):
        await run_statement(
            stack["ALMANAC_DATABASE_URL"],
            f"INSERT INTO {table} VALUES (99); COMMIT",
            None,
            dry_run=True,
            timeout=10,
        )
    assert count(stack, table) == 5


async def test_dry_run_that_ended_its_transaction_is_reported(
    stack: dict[str, str], table: str
) -> None:
    """Layer 3: a statement that slipped past the text check cannot pass as rolled back."""
    with pytest.raises(PayloadFailedError, match="ended its own transaction") as caught:
        await run_statement(stack["ALMANAC_DATABASE_URL"], "COMMIT", None, dry_run=True, timeout=10)
    assert caught.value.field == "params.statement"
    assert count(stack, table) == 5
