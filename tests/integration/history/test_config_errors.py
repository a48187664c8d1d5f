"""Start-up against a wrong DSN fails once, clearly, naming ALMANAC_DATABASE_URL."""

from __future__ import annotations

from urllib.parse import urlsplit, urlunsplit

import pytest

from almanac.history import DatabaseConfigError, prepare_database
from tests.integration.history.proxy import closed_port


def _with(
    dsn: str, *, password: str | None = None, port: int | None = None, db: str | None = None
) -> str:
    parts = urlsplit(dsn)
    user, _, secret = parts.netloc.rsplit("@", 1)[0].partition(":")
    host = "127.0.0.1" if port is not None else parts.hostname
    netloc = f"{user}:{password or secret}@{host}:{port or parts.port}"
    return urlunsplit(parts._replace(netloc=netloc, path=f"/{db}" if db else parts.path))


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        pytest.param({"port": closed_port()}, "host", id="closed-port"),
        pytest.param({"password": "wrong-password"}, "auth", id="wrong-password"),
        pytest.param({"db": "no_such_database"}, "database_missing", id="missing-database"),
    ],
)
async def test_prepare_database_explains_what_failed(
    stack: dict[str, str], change: dict[str, object], reason: str
) -> None:
    dsn = _with(stack["ALMANAC_DATABASE_URL"], **change)  # type: ignore[arg-type]

    with pytest.raises(DatabaseConfigError) as caught:
        await prepare_database(dsn, timeout=3)

    assert caught.value.reason == reason
    assert caught.value.field == "ALMANAC_DATABASE_URL"
    assert "wrong-password" not in str(caught.value)
