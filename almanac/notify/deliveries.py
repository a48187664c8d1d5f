"""The deliveries table: notifications to people waiting to be sent, and what became of them.

One row per message and target (``delivery_id`` unique, derived from the job, the run, the
outcome and the entry: :func:`~almanac.core.notifyrules.notice_id`), so the same decision
enqueued twice (a replayed pass, a new leader recounting, two replicas in a failover)
stores one row. The leader's courier claims due rows with ``FOR UPDATE SKIP LOCKED`` and a
lease (``next_attempt_at`` moved past the send's time-out, committed before sending), sends
outside the transaction, then marks the row delivered, failed for now (retried with
backoff) or given up. A courier killed mid-send leaves the row to be claimed again once
the lease ends: delivery is **at least once**; the id rides along (the e-mail's
``Message-ID``, the webhook's ``Almanac-Delivery-Id`` header, the Kafka record's ``id``)
so a receiver can drop a repeat.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Final

from psycopg.types.json import Jsonb
from psycopg_pool import AsyncConnectionPool

__all__ = ["Delivery", "DeliveryState", "claim", "enqueue", "mark", "purge", "states"]

_INSERT: Final = """
INSERT INTO notification_deliveries
    (delivery_id, namespace, scheduledjob, scheduledjob_uid, run_name, entry, channel,
     target, notice)
VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s)
ON CONFLICT (delivery_id) DO NOTHING
"""
_CLAIM: Final = """
UPDATE notification_deliveries
SET attempts = attempts + 1, next_attempt_at = now() + make_interval(secs => %s)
WHERE id IN (
    SELECT id FROM notification_deliveries
    WHERE delivered_at IS NULL AND gave_up_at IS NULL AND next_attempt_at <= now()
    ORDER BY next_attempt_at, id LIMIT %s FOR UPDATE SKIP LOCKED
)
RETURNING delivery_id, namespace, scheduledjob, scheduledjob_uid, run_name, entry, channel,
    target, notice, attempts
"""
_DELIVERED: Final = """
UPDATE notification_deliveries SET delivered_at = now(), last_error = NULL
WHERE delivery_id = %s
"""
_FAILED: Final = """
UPDATE notification_deliveries
SET last_error = %s, next_attempt_at = now() + make_interval(secs => %s),
    gave_up_at = CASE WHEN %s THEN now() END
WHERE delivery_id = %s
"""
_STATES: Final = """
SELECT delivery_id, channel, entry, attempts, last_error, delivered_at, gave_up_at
FROM notification_deliveries WHERE delivery_id = ANY(%s)
"""
_PURGE: Final = """
DELETE FROM notification_deliveries WHERE id IN (
    SELECT id FROM notification_deliveries WHERE created_at < %s ORDER BY created_at LIMIT %s
)
"""


@dataclass(frozen=True)
class Delivery:
    """One message to one target."""

    delivery_id: str
    namespace: str
    scheduledjob: str
    scheduledjob_uid: str
    run_name: str | None
    entry: int
    channel: str
    target: dict[str, Any]
    notice: dict[str, Any]
    attempts: int = 0

    def log_fields(self) -> dict[str, object]:
        """Its log fields (never its target's secrets: they are references)."""
        return {
            "scheduledjob": f"{self.namespace}/{self.scheduledjob}",
            "uid": self.scheduledjob_uid,
            "job": self.run_name,
            "channel": self.channel,
            "delivery": self.delivery_id,
            "attempt": self.attempts,
        }


@dataclass(frozen=True)
class DeliveryState:
    """Where one delivery stands (the test endpoint's answer)."""

    delivery_id: str
    channel: str
    entry: int
    attempts: int
    error: str | None
    delivered_at: datetime | None
    gave_up_at: datetime | None

    @property
    def outcome(self) -> str:
        """``delivered``, ``failed`` (given up), ``retrying`` or ``pending``."""
        if self.delivered_at is not None:
            return "delivered"
        if self.gave_up_at is not None:
            return "failed"
        return "retrying" if self.error else "pending"


async def enqueue(pool: AsyncConnectionPool, deliveries: Sequence[Delivery]) -> None:
    """Store ``deliveries`` in one transaction; ids already stored are left as they are."""
    async with pool.connection() as conn, conn.transaction():
        for d in deliveries:
            await conn.execute(
                _INSERT,
                (
                    d.delivery_id,
                    d.namespace,
                    d.scheduledjob,
                    d.scheduledjob_uid,
                    d.run_name,
                    d.entry,
                    d.channel,
                    Jsonb(d.target),
                    Jsonb(d.notice),
                ),
            )


async def claim(pool: AsyncConnectionPool, limit: int, lease_seconds: float) -> list[Delivery]:
    """Due deliveries, each leased for ``lease_seconds`` (its attempt counted)."""
    async with pool.connection() as conn, conn.transaction():
        cur = await conn.execute(_CLAIM, (lease_seconds, limit))
        rows = await cur.fetchall()
    return [Delivery(*row) for row in rows]


async def mark(
    pool: AsyncConnectionPool,
    delivery_id: str,
    *,
    error: str | None,
    retry_in: float = 0.0,
    give_up: bool = False,
) -> None:
    """Delivered (``error`` None), or failed: tried again in ``retry_in`` s or given up."""
    async with pool.connection() as conn:
        if error is None:
            await conn.execute(_DELIVERED, (delivery_id,))
        else:
            await conn.execute(_FAILED, (error[:1000], retry_in, give_up, delivery_id))


async def states(pool: AsyncConnectionPool, ids: Sequence[str]) -> list[DeliveryState]:
    async with pool.connection() as conn:
        cur = await conn.execute(_STATES, (list(ids),))
        rows = await cur.fetchall()
    return [DeliveryState(*row) for row in rows]


async def purge(pool: AsyncConnectionPool, cutoff: datetime, batch: int = 1000) -> int:
    """Delete deliveries created before ``cutoff`` (sent or not), in batches."""
    deleted = 0
    while True:
        async with pool.connection() as conn:
            cur = await conn.execute(_PURGE, (cutoff, batch))
        deleted += max(0, cur.rowcount)
        if cur.rowcount < batch:
            return deleted
