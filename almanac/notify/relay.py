"""The outbox relay: publish committed notifications to Kafka, then mark them delivered.

Rows are claimed with ``FOR UPDATE SKIP LOCKED`` in batches, so two relays (two operator
replicas) never publish the same row concurrently; a row is marked delivered only after the
broker acknowledged it (at-least-once; duplicates after a crash carry the same event id).
When Kafka is down the rows stay, the relay backs off and reports unhealthy; scheduling
never waits on it (invariant nothing-lost, "nothing lost").
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any, Final

from psycopg_pool import AsyncConnectionPool

from almanac.history.backoff import Backoff
from almanac.notify.formats import namespace_of
from almanac.notify.publisher import Message, NamespacedMessage, Publisher, encode_payload

__all__ = ["OutboxRelay"]

log = logging.getLogger(__name__)

_CLAIM: Final = """
SELECT id, event_id, topic, key, payload, attempts FROM outbox
WHERE delivered_at IS NULL AND next_attempt_at <= now()
ORDER BY id LIMIT %s FOR UPDATE SKIP LOCKED
"""
_DELIVERED: Final = "UPDATE outbox SET delivered_at = now(), last_error = NULL WHERE id = ANY(%s)"
_FAILED: Final = """
UPDATE outbox SET attempts = attempts + 1, last_error = %s,
    next_attempt_at = now() + make_interval(secs => %s)
WHERE id = %s
"""


class OutboxRelay:
    """Moves outbox rows to Kafka.

    Parameters
    ----------
    pool
        Pool over the history schema (where the ``outbox`` table lives).
    publisher
        Where messages go (:class:`~almanac.notify.publisher.KafkaPublisher` in production).
    batch_size
        Rows claimed per transaction.
    backoff
        Delays after a failed pass (relay-wide) and per failed row.
    poll_interval
        Seconds between passes when idle; :meth:`wake` starts one at once.
    publish_timeout
        Seconds a batch may take before it counts as failed.
    """

    def __init__(
        self,
        pool: AsyncConnectionPool,
        publisher: Publisher,
        *,
        batch_size: int = 100,
        backoff: Backoff | None = None,
        poll_interval: float = 1.0,
        publish_timeout: float = 15.0,
        rng: random.Random | None = None,
    ) -> None:
        self.pool = pool
        self.publisher = publisher
        self.batch_size = batch_size
        self.backoff = backoff or Backoff(initial=0.5, maximum=30.0, jitter=0.2)
        self.poll_interval = poll_interval
        self.publish_timeout = publish_timeout
        self._rng = rng or random.Random()
        self._started = False
        self._wake = asyncio.Event()
        self.failures = 0
        self.delivered = 0
        self.last_error: str | None = None
        #: Told of the rows the brokers acknowledged, ``(event id, topic, payload)``,
        #: with when their publish began (traces).
        self.on_published: (
            Callable[[Sequence[tuple[str, str, Mapping[str, Any]]], datetime], None] | None
        ) = None

    @property
    def healthy(self) -> bool:
        """False while the last pass failed (Kafka or Postgres unreachable)."""
        return self.failures == 0

    def wake(self) -> None:
        """Start a pass now (called after a run's notification was committed)."""
        self._wake.set()

    async def relay_once(self) -> int:
        """One pass: claim a batch, publish it, mark what was acknowledged; never raises."""
        try:
            if not self._started:
                await self.publisher.start()
                self._started = True
            delivered = await self._pass()
        except Exception as exc:  # top of a pass: count, log, let the loop back off
            self._fail(exc)
            return 0
        self.delivered += delivered
        return delivered

    async def _pass(self) -> int:
        async with self.pool.connection() as conn, conn.transaction():
            cur = await conn.execute(_CLAIM, (self.batch_size,))
            rows = await cur.fetchall()
            if not rows:
                self._ok()
                return 0
            messages = [_message(row) for row in rows]
            began = datetime.now(UTC)
            outcomes = await self._publish(messages)
            acked = [row for row, err in zip(rows, outcomes, strict=True) if err is None]
            ok = [row[0] for row in acked]
            if ok:
                await conn.execute(_DELIVERED, (ok,))
                if self.on_published is not None:
                    self.on_published([(r[1], r[2], r[4]) for r in acked], began)
            errors = [(row, err) for row, err in zip(rows, outcomes, strict=True) if err]
            for row, err in errors:
                delay = self.backoff.delay(int(row[5]) + 1, self._rng)
                await conn.execute(_FAILED, (f"{type(err).__name__}: {err}"[:1000], delay, row[0]))
        if errors:
            self._fail(errors[0][1])
        else:
            self._ok()
        return len(ok)

    async def _publish(self, messages: Sequence[Message]) -> list[BaseException | None]:
        try:
            return await asyncio.wait_for(self.publisher.publish(messages), self.publish_timeout)
        except Exception as exc:
            return [exc for _ in messages]

    def _ok(self) -> None:
        if self.failures:
            log.info("outbox relay recovered")
        self.failures = 0
        self.last_error = None

    def _fail(self, exc: BaseException) -> None:
        self.failures += 1
        self.last_error = f"{type(exc).__name__}: {exc}"
        log.warning("outbox relay pass failed", extra={"error": self.last_error})

    async def pending(self) -> int:
        """Rows not yet delivered (a metric: the notification backlog)."""
        async with self.pool.connection() as conn:
            cur = await conn.execute("SELECT count(*) FROM outbox WHERE delivered_at IS NULL")
            row = await cur.fetchone()
        return int(row[0]) if row else 0

    async def purge_delivered(self, cutoff: datetime, batch_size: int = 1000) -> int:
        """Delete rows delivered before ``cutoff``, in batches; return how many."""
        deleted = 0
        while True:
            async with self.pool.connection() as conn:
                cur = await conn.execute(
                    "DELETE FROM outbox WHERE id IN (SELECT id FROM outbox"
                    " WHERE delivered_at < %s ORDER BY delivered_at LIMIT %s)",
                    (cutoff, batch_size),
                )
            deleted += max(0, cur.rowcount)
            if cur.rowcount < batch_size:
                return deleted

    async def run(self, stop: asyncio.Event) -> None:
        """Relay until ``stop`` is set: full batches back to back, else wait for
        :meth:`wake` or the poll interval; after a failure, wait the backoff."""
        try:
            while not stop.is_set():
                count = await self.relay_once()
                if self.failures:
                    await self._pause(self.backoff.delay(self.failures, self._rng), stop)
                elif count < self.batch_size:
                    await self._pause(self.poll_interval, stop)
        finally:
            await self.aclose()

    async def _pause(self, seconds: float, stop: asyncio.Event) -> None:
        self._wake.clear()
        waits = [asyncio.create_task(stop.wait()), asyncio.create_task(self._wake.wait())]
        try:
            await asyncio.wait(waits, timeout=seconds, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for task in waits:
                task.cancel()

    async def aclose(self) -> None:
        """Stop the publisher (bounded; a dead broker must not hang shutdown)."""
        if self._started:
            self._started = False
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self.publisher.stop(), 5.0)


def _message(row: Sequence[Any]) -> Message:
    """An outbox row as a record; one about a namespace carries the ``almanac-namespace``
    header (derived from the payload, so rows stored before it get it too)."""
    _, event_id, topic, key, payload, _ = row
    value = encode_payload(payload)
    namespace = namespace_of(payload)
    if namespace is None:
        return Message(topic=topic, key=key, value=value, event_id=event_id)
    return NamespacedMessage(
        topic=topic, key=key, value=value, event_id=event_id, namespace=namespace
    )
