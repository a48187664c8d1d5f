"""Run history in Postgres: runs, audit log, notification outbox, migrations, retention.

The operator records every run through a :class:`BufferedRecorder` in front of a
:class:`RunStore` (Postgres, or the in-memory fake in tests); a finished run and its
notifications are committed together, so neither is lost when Postgres or Kafka is down
(invariant nothing-lost).
"""

from almanac.history.backoff import Backoff
from almanac.history.buffer import BufferedRecorder
from almanac.history.context import History
from almanac.history.database import check_database, open_pool, prepare_database, redact_dsn
from almanac.history.embedded import EmbeddedPostgres, start_embedded_postgres
from almanac.history.errors import (
    DatabaseConfigError,
    EmbeddedPostgresError,
    HistoryError,
    HistoryNotConfiguredError,
    HistoryUnavailableError,
)
from almanac.history.migrations import MIGRATIONS, Migration, migrate
from almanac.history.postgres import PostgresRunStore
from almanac.history.records import (
    MAX_RESULT_BYTES,
    AuditEntry,
    ErrorCount,
    HourCount,
    OutboxMessage,
    RunAggregate,
    RunRecord,
    RunStats,
    RunSummary,
    RunWrite,
    merge_records,
    phase_rank,
    timed_out,
    truncate_result,
)
from almanac.history.store import RunPage, RunStore

__all__ = [
    "MAX_RESULT_BYTES",
    "MIGRATIONS",
    "AuditEntry",
    "Backoff",
    "BufferedRecorder",
    "DatabaseConfigError",
    "EmbeddedPostgres",
    "EmbeddedPostgresError",
    "ErrorCount",
    "History",
    "HistoryError",
    "HistoryNotConfiguredError",
    "HistoryUnavailableError",
    "HourCount",
    "Migration",
    "OutboxMessage",
    "PostgresRunStore",
    "RunAggregate",
    "RunPage",
    "RunRecord",
    "RunStats",
    "RunStore",
    "RunSummary",
    "RunWrite",
    "check_database",
    "merge_records",
    "migrate",
    "open_pool",
    "phase_rank",
    "prepare_database",
    "redact_dsn",
    "start_embedded_postgres",
    "timed_out",
    "truncate_result",
]
