"""Start-up errors name ALMANAC_DATABASE_URL, say what failed, and never show the password."""

from __future__ import annotations

from pathlib import Path

import pytest

from almanac.history import (
    DatabaseConfigError,
    EmbeddedPostgresError,
    check_database,
    redact_dsn,
    start_embedded_postgres,
)
from almanac.history.database import classify_connect_error, open_pool


@pytest.mark.parametrize(
    ("message", "reason"),
    [
        pytest.param(
            'FATAL:  password authentication failed for user "almanac"', "auth", id="password"
        ),
        pytest.param('FATAL:  role "ghost" does not exist', "auth", id="unknown-role"),
        pytest.param(
            'FATAL:  database "nope" does not exist', "database_missing", id="missing-database"
        ),
        pytest.param(
            'connection failed: connection to server at "127.0.0.1", port 1 failed: '
            "Connection refused",
            "host",
            id="refused",
        ),
        pytest.param('could not translate host name "db.invalid" to address', "host", id="dns"),
        pytest.param("connection timeout expired", "host", id="timeout"),
        pytest.param(
            'connection to server at "10.244.0.1", port 39739 failed: FATAL:  the database '
            "system is shutting down",
            "host",
            id="shutting-down",
        ),
        pytest.param("FATAL:  the database system is starting up", "host", id="starting-up"),
        pytest.param("server closed the connection unexpectedly", "host", id="closed-unexpectedly"),
        pytest.param("permission denied for database almanac", "permission", id="permission"),
        pytest.param("something new", "unknown", id="unknown"),
    ],
)
def test_connect_errors_are_classified(message: str, reason: str) -> None:
    assert classify_connect_error(message) == reason


def test_redact_dsn_hides_the_password() -> None:
    redacted = redact_dsn("postgresql://almanac:s3cret@10.244.0.1:5432/almanac")

    assert "s3cret" not in redacted
    assert "***" in redacted
    assert "10.244.0.1" in redacted


@pytest.mark.parametrize(
    "dsn",
    [
        pytest.param("", id="empty"),
        pytest.param("postgresql://almanac:pw@host:notaport/db?bogus_option=1", id="malformed"),
    ],
)
async def test_unusable_urls_fail_before_connecting(dsn: str) -> None:
    with pytest.raises(DatabaseConfigError) as caught:
        await check_database(dsn)

    assert caught.value.field == "ALMANAC_DATABASE_URL"
    assert caught.value.reason == "malformed"
    assert "ALMANAC_DATABASE_URL" in caught.value.message


def test_schema_names_are_plain_identifiers() -> None:
    with pytest.raises(DatabaseConfigError, match="identifier"):
        open_pool("postgresql://x@127.0.0.1/db", schema="x; DROP TABLE y")


def test_embedded_postgres_refuses_root_with_the_fix(tmp_path: Path) -> None:
    with pytest.raises(EmbeddedPostgresError) as caught:
        start_embedded_postgres(tmp_path / "pgdata", geteuid=lambda: 0)

    assert "root" in caught.value.message
    assert "ALMANAC_DATABASE_URL" in caught.value.message
    assert not (tmp_path / "pgdata").exists()
