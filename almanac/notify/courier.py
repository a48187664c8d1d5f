"""The courier: the leader's loop that sends the notifications waiting in Postgres.

Each pass claims a batch of due deliveries (:func:`~almanac.notify.deliveries.claim`, a
lease past the send's time-out), sends them a few at a time, and marks each one: delivered;
failed and tried again after a backoff; or given up after the last attempt. Every failure
is reported to ``on_failure`` (the operator logs it as JSON with the run, counts it and
posts an Event on the ScheduledJob) and every outcome counted by channel; none of this
waits on, or holds up, a launch. Only the leader runs it; a standby's rows wait for it, and
the lease makes a killed leader's in-flight rows due again (at least once).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Final

from psycopg_pool import AsyncConnectionPool

from almanac.history.backoff import Backoff
from almanac.notify.channels import Channels, DeliveryFailed
from almanac.notify.deliveries import Delivery, claim, mark, purge
from almanac.notify.messages import TEST

__all__ = ["Courier"]

log = logging.getLogger(__name__)

#: Deliveries claimed per pass, and sent at once.
BATCH: Final = 32
CONCURRENCY: Final = 8
_PURGE_EVERY: Final = timedelta(hours=1)

Outcome = Callable[[Delivery, str], None]
Failure = Callable[[Delivery, str, bool], None]


class Courier:
    """Sends due deliveries until stopped.

    Parameters
    ----------
    pool
        The history pool, or ``None`` while Postgres is unreachable (asked each pass).
    channels
        The senders.
    on_outcome
        Called with each delivery and ``delivered`` / ``failed`` / ``gave_up``.
    on_failure
        Called with each failed delivery, the reason and whether it was the last attempt.
    """

    def __init__(
        self,
        pool: Callable[[], AsyncConnectionPool | None],
        channels: Channels,
        *,
        max_attempts: int,
        timeout: float,
        retention: timedelta,
        on_outcome: Outcome = lambda d, o: None,
        on_failure: Failure = lambda d, e, last: None,
        poll_interval: float = 1.0,
        rng: random.Random | None = None,
    ) -> None:
        self._pool = pool
        self._channels = channels
        self._max_attempts = max_attempts
        self._lease = timeout * 3 + 30
        self._retention = retention
        self._on_outcome = on_outcome
        self._on_failure = on_failure
        self._poll = poll_interval
        self._rng = rng or random.Random()
        self._backoff = Backoff(initial=5.0, maximum=600.0, jitter=0.2)
        self._wake = asyncio.Event()
        self._purged = datetime.min.replace(tzinfo=UTC)
        self.healthy = True

    def wake(self) -> None:
        """Start a pass now (deliveries were just stored)."""
        self._wake.set()

    async def deliver_once(self) -> int:
        """One pass: claim, send, mark; return how many were claimed. Never raises."""
        pool = self._pool()
        if pool is None:
            return 0
        try:
            batch = await claim(pool, BATCH, self._lease)
        except Exception as exc:  # Postgres down: the next pass tries again
            if self.healthy:
                log.warning("notification courier cannot claim", extra={"error": str(exc)})
            self.healthy = False
            return 0
        self.healthy = True
        limit = asyncio.Semaphore(CONCURRENCY)

        async def one(d: Delivery) -> None:
            async with limit:
                await self._deliver(pool, d)

        await asyncio.gather(*(one(d) for d in batch))
        await self._purge(pool)
        return len(batch)

    async def _deliver(self, pool: AsyncConnectionPool, d: Delivery) -> None:
        error: str | None
        try:
            async with asyncio.timeout(self._lease - 5):
                await self._channels.send(d)
        except DeliveryFailed as exc:
            error = exc.message
        except TimeoutError:
            error = "the delivery took longer than its lease; it is tried again"
        except Exception as exc:  # a sender's bug must not stop the courier
            log.exception("notification delivery crashed", extra=d.log_fields())
            error = f"{type(exc).__name__}: {exc}"
        else:
            error = None
        # A test is tried once: whoever asked waits for the verdict.
        once = d.notice.get("outcome") == TEST
        last = error is not None and (once or d.attempts >= self._max_attempts)
        try:
            if error is None:
                await mark(pool, d.delivery_id, error=None)
            else:
                delay = self._backoff.delay(d.attempts, self._rng)
                await mark(pool, d.delivery_id, error=error, retry_in=delay, give_up=last)
        except Exception as exc:  # the lease ends and the row is claimed again
            log.warning(
                "notification outcome not stored", extra=d.log_fields() | {"error": str(exc)}
            )
        if error is None:
            self._on_outcome(d, "delivered")
            return
        self._on_outcome(d, "gave_up" if last else "failed")
        self._on_failure(d, error, last)

    async def _purge(self, pool: AsyncConnectionPool) -> None:
        now = datetime.now(UTC)
        if now - self._purged < _PURGE_EVERY:
            return
        self._purged = now
        with contextlib.suppress(Exception):
            await purge(pool, now - self._retention)

    async def run(self, stop: asyncio.Event) -> None:
        """Deliver until ``stop``: full batches back to back, else wait for a wake-up."""
        try:
            while not stop.is_set():
                claimed = await self.deliver_once()
                if claimed < BATCH:
                    self._wake.clear()
                    with contextlib.suppress(TimeoutError):
                        await asyncio.wait_for(self._wake.wait(), self._poll)
        finally:
            with contextlib.suppress(Exception):
                await self._channels.aclose()
