"""Dry-run statements that could commit themselves are refused from their text alone.

Pure tests of :mod:`almanac.executor.payloads.sqltext` and of ``SqlParams``: nothing
connects. tests/integration/executor/test_sql.py checks the same against PostgreSQL.
"""

from __future__ import annotations

import pytest

from almanac.executor.errors import InvalidParamsError
from almanac.executor.paramsmodel import parse_params
from almanac.executor.payloads.sql import SqlParams
from almanac.executor.payloads.sqltext import dry_run_problem, split_statements

DSN = {"secretKeyRef": {"name": "db", "key": "dsn"}}
ONE = "exactly one statement"

#: name -> (statement, words the refusal must contain)
REFUSED: dict[str, tuple[str, str]] = {
    "commit": ("COMMIT", "cannot run COMMIT"),
    "commit-lower-case-after-comments": ("-- tidy\n/* then */ commit;", "cannot run COMMIT"),
    "end": ("END", "cannot run END"),
    "end-transaction": ("end transaction", "cannot run END"),
    "rollback": ("ROLLBACK", "cannot run ROLLBACK"),
    "abort": ("ABORT", "cannot run ABORT"),
    "begin": ("BEGIN ISOLATION LEVEL SERIALIZABLE", "cannot run BEGIN"),
    "start-transaction": ("START TRANSACTION READ WRITE", "cannot run START"),
    "savepoint": ("SAVEPOINT s1", "cannot run SAVEPOINT"),
    "release": ("RELEASE SAVEPOINT s1", "cannot run RELEASE"),
    "prepare-transaction": ("PREPARE TRANSACTION 'keep-me'", "cannot run PREPARE TRANSACTION"),
    "commit-prepared": ("COMMIT PREPARED 'keep-me'", "cannot run COMMIT"),
    "call-a-committing-procedure": ("CALL purge_and_commit()", "cannot run CALL"),
    "set-session-characteristics": (
        "SET SESSION CHARACTERISTICS AS TRANSACTION READ WRITE",
        "cannot run SET SESSION CHARACTERISTICS",
    ),
    "set-transaction": ("SET TRANSACTION READ WRITE", "cannot run SET TRANSACTION"),
    "insert-then-commit": ("INSERT INTO t VALUES (1); COMMIT", f"{ONE}, got 2"),
    "two-selects": ("SELECT 1; SELECT 2", f"{ONE}, got 2"),
    "commit-after-a-semicolon-free-line-comment": ("SELECT 1 -- c\n; COMMIT", f"{ONE}, got 2"),
    # An identifier may hold $: a$b$ ... c$b$ is not a dollar-quoted string.
    "dollars-inside-identifiers": ("SELECT 1 AS a$b$; COMMIT; SELECT 2 AS c$b$", f"{ONE}, got 3"),
    # standard_conforming_strings: a backslash does not escape the closing quote.
    "backslash-in-a-plain-string": ("SELECT '\\'; COMMIT; --'", f"{ONE}, got 2"),
    # In E'' strings it does: the string is one quote character.
    "escaped-quote-in-an-e-string": ("SELECT E'\\''; COMMIT", f"{ONE}, got 2"),
    # Block comments nest: the ; is still inside the outer comment.
    "nested-comment-then-commit": ("/* a /* b */ ; */ COMMIT", "cannot run COMMIT"),
    "unterminated-string": ("SELECT 'abc; COMMIT", "unterminated '...' literal"),
    "unterminated-dollar-quote": ("SELECT $x$ abc", "unterminated $x$ dollar quote"),
    "unterminated-comment": ("SELECT 1 /* ; COMMIT", "unterminated /* comment"),
}

ACCEPTED: dict[str, str] = {
    "delete-with-parameters": "DELETE FROM sessions WHERE expires < now() - %(age)s::interval",
    "trailing-semicolon": "DELETE FROM t;",
    "semicolon-in-a-string": "UPDATE t SET note = 'a; COMMIT'",
    "doubled-quote-in-a-string": "SELECT 'it''s; fine'",
    "semicolon-in-a-dollar-quote": "SELECT $tag$; COMMIT$tag$",
    "semicolon-in-a-line-comment": "SELECT 1 -- ; COMMIT",
    "semicolon-in-a-block-comment": "SELECT 1 /* ; COMMIT */",
    "quoted-identifier": 'SELECT * FROM "commit;"',
    "end-as-a-column-name": "UPDATE t SET ended = true WHERE kind = 'end'",
    "data-modifying-cte": "WITH gone AS (DELETE FROM t RETURNING v) SELECT count(*) FROM gone",
    "do-block-whose-begin-is-plpgsql": "DO $$BEGIN PERFORM 1; END$$",
    "positional-parameter": "SELECT $1::int",
}


@pytest.mark.parametrize("name", sorted(REFUSED))
def test_dry_run_refuses_statements_that_could_commit(name: str) -> None:
    statement, words = REFUSED[name]
    problem = dry_run_problem(statement)
    assert problem is not None
    assert words in problem
    assert "set dryRun: false" in problem


@pytest.mark.parametrize("name", sorted(ACCEPTED))
def test_dry_run_accepts_one_ordinary_statement(name: str) -> None:
    assert dry_run_problem(ACCEPTED[name]) is None


def test_split_statements_blanks_literals_and_comments() -> None:
    text = "SELECT 'a;b' /* c;d */ , $q$e;f$q$; -- g;h\nSELECT \"i;j\";;"
    assert split_statements(text) == ["SELECT     ,", "SELECT"]


@pytest.mark.parametrize("name", ["commit", "insert-then-commit", "call-a-committing-procedure"])
def test_params_name_the_statement_field_for_a_dry_run(name: str) -> None:
    statement, _ = REFUSED[name]
    with pytest.raises(InvalidParamsError) as caught:
        parse_params(SqlParams, {"dsn": DSN, "statement": statement, "dryRun": True})
    assert caught.value.field == "params.statement"


@pytest.mark.parametrize("name", ["commit", "insert-then-commit", "call-a-committing-procedure"])
def test_params_leave_a_real_run_alone(name: str) -> None:
    statement, _ = REFUSED[name]
    params = parse_params(SqlParams, {"dsn": DSN, "statement": statement})
    assert params.statement == statement
