"""Versioned schema migrations, applied at start-up under a Postgres advisory lock.

Migrations are Python string constants (no package data to ship). Each runs once, in
order, in one transaction together with its ``schema_migrations`` row, while the
transaction holds ``pg_advisory_xact_lock`` on a key derived from the current schema. So
two operators starting at once apply each migration exactly once: the second waits for the
lock, then finds the versions recorded and does nothing. Never edit a released migration;
append a new one.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Final

from psycopg import AsyncConnection

__all__ = ["MIGRATIONS", "TRACE_ID_SQL", "Migration", "applied_versions", "migrate"]


@dataclass(frozen=True)
class Migration:
    """One schema change: a version (strictly increasing), a name and its SQL."""

    version: int
    name: str
    sql: str


_V1_RUNS: Final = """
CREATE FUNCTION almanac_phase_rank(phase text) RETURNS integer
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
    RETURN CASE phase WHEN 'Pending' THEN 0 WHEN 'Running' THEN 1 ELSE 2 END;

CREATE TABLE job_runs (
    id               bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    namespace        text        NOT NULL,
    scheduledjob     text        NOT NULL,
    scheduledjob_uid text        NOT NULL,
    run_name         text        NOT NULL,
    template         text        NOT NULL DEFAULT '',
    trigger          text        NOT NULL DEFAULT 'schedule',
    slot             timestamptz NOT NULL,
    attempt          integer     NOT NULL DEFAULT 1 CHECK (attempt >= 1),
    status           text        NOT NULL CHECK (status IN
                         ('Pending', 'Running', 'Succeeded', 'Failed', 'Skipped', 'Cancelled')),
    started_at       timestamptz,
    finished_at      timestamptz,
    duration_ms      bigint GENERATED ALWAYS AS
                         ((EXTRACT(EPOCH FROM (finished_at - started_at)) * 1000)::bigint) STORED,
    exit_code        integer,
    result           jsonb,
    error            text,
    pod              text,
    event_id         text,
    created_at       timestamptz NOT NULL DEFAULT now(),
    updated_at       timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT job_runs_run_key UNIQUE (scheduledjob_uid, run_name)
);
CREATE INDEX job_runs_by_uid_slot ON job_runs (namespace, scheduledjob_uid, slot DESC, id DESC);
CREATE INDEX job_runs_by_name_slot ON job_runs (namespace, scheduledjob, slot DESC, id DESC);
CREATE INDEX job_runs_by_status ON job_runs (status, slot DESC);
CREATE INDEX job_runs_by_created ON job_runs (created_at);

CREATE TABLE audit_log (
    id           bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    at           timestamptz NOT NULL DEFAULT now(),
    namespace    text NOT NULL,
    scheduledjob text NOT NULL,
    actor        text NOT NULL,
    org_id       text,
    action       text NOT NULL,
    details      jsonb NOT NULL DEFAULT '{}'::jsonb
);
CREATE INDEX audit_log_by_job ON audit_log (namespace, scheduledjob, at DESC);
CREATE INDEX audit_log_by_org ON audit_log (org_id, at DESC);

CREATE TABLE outbox (
    id              bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    event_id        text NOT NULL UNIQUE,
    topic           text NOT NULL,
    key             text NOT NULL DEFAULT '',
    payload         jsonb NOT NULL,
    created_at      timestamptz NOT NULL DEFAULT now(),
    attempts        integer NOT NULL DEFAULT 0,
    next_attempt_at timestamptz NOT NULL DEFAULT now(),
    last_error      text,
    delivered_at    timestamptz
);
CREATE INDEX outbox_pending ON outbox (next_attempt_at, id) WHERE delivered_at IS NULL;
CREATE INDEX outbox_delivered ON outbox (delivered_at) WHERE delivered_at IS NOT NULL;
"""

#: A run is found by its name alone when its Job is gone (a retry through REST names it so).
_V2_RUN_NAMES: Final = """
CREATE INDEX job_runs_by_run_name ON job_runs (namespace, run_name, id DESC);
"""

#: An organisation's runs in a time window (``GET /metrics/summary``) without reading
#: every job's slice of the per-job index.
_V3_RUNS_BY_SLOT: Final = """
CREATE INDEX job_runs_by_namespace_slot ON job_runs (namespace, slot DESC);
"""

#: Skipped slots and dead letters (docs/history.md): a run's ``reason`` (a skip's reason,
#: ``timeout``) and ``dead_lettered_at``; rows a timed-out executor marked only in their
#: result get the reason; a skipped row ranks below every phase, so the real run of that
#: name replaces it; the ``dead_letters`` table holds dead runs and refused events.
_V4_DEAD_LETTERS: Final = """
ALTER TABLE job_runs ADD COLUMN reason text, ADD COLUMN dead_lettered_at timestamptz;
UPDATE job_runs SET reason = 'timeout'
    WHERE status = 'Failed' AND result #>> '{details,error}' = 'deadline_exceeded';
CREATE OR REPLACE FUNCTION almanac_phase_rank(phase text) RETURNS integer
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
    RETURN CASE phase WHEN 'Skipped' THEN -1 WHEN 'Pending' THEN 0 WHEN 'Running' THEN 1 ELSE 2 END;

CREATE TABLE dead_letters (
    id               bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    kind             text        NOT NULL CHECK (kind IN ('run', 'event')),
    namespace        text        NOT NULL,
    scheduledjob     text        NOT NULL,
    scheduledjob_uid text        NOT NULL,
    subject          text        NOT NULL,
    reason           text        NOT NULL,
    at               timestamptz NOT NULL,
    topic            text,
    value            text,
    requeued_at      timestamptz,
    requeued_run     text,
    CONSTRAINT dead_letters_key UNIQUE (kind, scheduledjob_uid, subject)
);
CREATE INDEX dead_letters_by_namespace ON dead_letters (namespace, at DESC, id DESC);
"""

#: Run log tails (docs/history.md): beside the runs, deleted with them.
_V5_RUN_LOGS: Final = """
CREATE TABLE run_logs (
    scheduledjob_uid text    NOT NULL,
    run_name         text    NOT NULL,
    lines            text[]  NOT NULL,
    truncated        boolean NOT NULL,
    PRIMARY KEY (scheduledjob_uid, run_name),
    FOREIGN KEY (scheduledjob_uid, run_name)
        REFERENCES job_runs (scheduledjob_uid, run_name) ON DELETE CASCADE
);
"""

#: A run's trace id in SQL, equal to :func:`almanac.core.tracing.run_trace_id`.
TRACE_ID_SQL: Final = (
    "substr(encode(sha256(convert_to("
    "'almanac.run/' || scheduledjob_uid || '/' || run_name, 'UTF8')), 'hex'), 1, 32)"
)

#: Trace ids (docs/observability.md, "Traces"): each row's run trace, written with the
#: row from now on and computed here for the rows stored before, so a trace id found in a
#: tracing backend leads to its run (the index) and every row has one.
_V6_TRACE_IDS: Final = f"""
ALTER TABLE job_runs ADD COLUMN trace_id text;
UPDATE job_runs SET trace_id = {TRACE_ID_SQL};
CREATE INDEX job_runs_by_trace_id ON job_runs (trace_id);
"""

#: Notifications to people (docs/notifications.md): one row per message and target, sent
#: by the leader's courier, kept as long as the runs.
_V7_NOTIFICATION_DELIVERIES: Final = """
CREATE TABLE notification_deliveries (
    id               bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    delivery_id      text        NOT NULL UNIQUE,
    namespace        text        NOT NULL,
    scheduledjob     text        NOT NULL,
    scheduledjob_uid text        NOT NULL,
    run_name         text,
    entry            integer     NOT NULL,
    channel          text        NOT NULL CHECK (channel IN ('email', 'webhook', 'kafka')),
    target           jsonb       NOT NULL,
    notice           jsonb       NOT NULL,
    created_at       timestamptz NOT NULL DEFAULT now(),
    attempts         integer     NOT NULL DEFAULT 0,
    next_attempt_at  timestamptz NOT NULL DEFAULT now(),
    last_error       text,
    delivered_at     timestamptz,
    gave_up_at       timestamptz
);
CREATE INDEX notification_deliveries_due ON notification_deliveries (next_attempt_at, id)
    WHERE delivered_at IS NULL AND gave_up_at IS NULL;
CREATE INDEX notification_deliveries_by_created ON notification_deliveries (created_at);
"""

MIGRATIONS: Final[tuple[Migration, ...]] = (
    Migration(1, "runs_audit_outbox", _V1_RUNS),
    Migration(2, "runs_by_name", _V2_RUN_NAMES),
    Migration(3, "runs_by_namespace_slot", _V3_RUNS_BY_SLOT),
    Migration(4, "skips_timeouts_dead_letters", _V4_DEAD_LETTERS),
    Migration(5, "run_logs", _V5_RUN_LOGS),
    Migration(6, "run_trace_ids", _V6_TRACE_IDS),
    Migration(7, "notification_deliveries", _V7_NOTIFICATION_DELIVERIES),
)

_BOOKKEEPING: Final = """
CREATE TABLE IF NOT EXISTS schema_migrations (
    version    integer PRIMARY KEY,
    name       text NOT NULL,
    applied_at timestamptz NOT NULL DEFAULT now()
)
"""
# One lock per schema: tests (and installs) that use separate schemas do not wait on
# each other, two operators sharing one schema do.
_LOCK: Final = "SELECT pg_advisory_xact_lock(hashtext('almanac.migrate:' || current_schema()))"


async def applied_versions(conn: AsyncConnection[Any]) -> list[int]:
    """Versions recorded in ``schema_migrations`` (empty before the first migration)."""
    cur = await conn.execute("SELECT to_regclass('schema_migrations') IS NOT NULL")
    row = await cur.fetchone()
    if row is None or not row[0]:
        return []
    cur = await conn.execute("SELECT version FROM schema_migrations ORDER BY version")
    return [int(r[0]) for r in await cur.fetchall()]


async def migrate(
    conn: AsyncConnection[Any], migrations: tuple[Migration, ...] = MIGRATIONS
) -> list[int]:
    """Apply the migrations not yet recorded; return the versions applied by this call.

    Idempotent and safe to race: everything happens in one transaction that first takes
    the schema's advisory lock, so a concurrent caller waits and then applies nothing.
    """
    applied: list[int] = []
    async with conn.transaction():
        await conn.execute(_LOCK)
        await conn.execute(_BOOKKEEPING)
        done = set(await applied_versions(conn))
        for migration in sorted(migrations, key=lambda m: m.version):
            if migration.version in done:
                continue
            await conn.execute(migration.sql.encode())
            await conn.execute(
                "INSERT INTO schema_migrations (version, name) VALUES (%s, %s)",
                (migration.version, migration.name),
            )
            applied.append(migration.version)
    return applied
