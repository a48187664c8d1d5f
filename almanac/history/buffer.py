"""A bounded write buffer in front of the run store, so Postgres never blocks scheduling.

Callers :meth:`BufferedRecorder.submit` and return at once; a background task writes in
batches. When Postgres is down, writes stay queued (merged per run, so the latest phase
wins and the queue holds at most one entry per run), retries back off exponentially, and
:attr:`BufferedRecorder.healthy` turns false for the ``Degraded`` condition and a metric.
When Postgres returns, the backlog is flushed. The bound is the last line of defence: an
evicted run is still reconstructible, because the operator only deletes a Job once
:meth:`BufferedRecorder.has_final_record` is true, and re-records it on its next pass.
Outbox messages tied to no run (a ScheduledJob's lifecycle events) take the same path
(:meth:`BufferedRecorder.submit_messages`), bounded alike.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Sequence
from datetime import UTC, datetime
from typing import Final

from almanac.core.status import RunPhase
from almanac.history.backoff import Backoff
from almanac.history.records import OutboxMessage, RunKey, RunRecord, RunWrite, merge_writes
from almanac.history.store import RunStore

__all__ = ["BufferedRecorder"]

log = logging.getLogger(__name__)

DEFAULT_CAPACITY: Final = 10_000
DEFAULT_BATCH: Final = 200


class BufferedRecorder:
    """Queue run writes in memory and flush them to a :class:`RunStore` with backoff.

    Parameters
    ----------
    store
        Where the writes go.
    capacity
        Most runs held while the store is down; beyond it the oldest non-final entry
        (else the oldest) is evicted and counted in :attr:`dropped`.
    batch_size
        Runs written per transaction.
    backoff
        Delays between failed flushes.
    clock, sleep
        Injected for tests (monotonic seconds; ``asyncio.sleep``-like).
    """

    def __init__(
        self,
        store: RunStore,
        *,
        capacity: int = DEFAULT_CAPACITY,
        batch_size: int = DEFAULT_BATCH,
        backoff: Backoff | None = None,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], Awaitable[None]] | None = None,
        rng: random.Random | None = None,
    ) -> None:
        if capacity < 1 or batch_size < 1:
            raise ValueError("capacity and batch_size must be positive")
        self.store = store
        self.capacity = capacity
        self.batch_size = batch_size
        self.backoff = backoff or Backoff(initial=0.5, maximum=30.0, jitter=0.2)
        self._clock = clock
        self._sleep = sleep
        self._rng = rng or random.Random()
        self._pending: OrderedDict[RunKey, RunWrite] = OrderedDict()
        #: Outbox messages tied to no run (ScheduledJob lifecycle events), by event id.
        self._messages: OrderedDict[str, OutboxMessage] = OrderedDict()
        self._wake = asyncio.Event()
        self._retry = asyncio.Event()
        self._lock = asyncio.Lock()
        # Awaited before each flush: the operator holds history writes while a burst of
        # due runs launches (the rows are queued meanwhile, nothing is lost).
        self.hold: Callable[[], Awaitable[None]] | None = None
        #: Told of each batch of runs committed, with when its write began (traces).
        self.on_written: Callable[[Sequence[RunWrite], datetime], None] | None = None
        self.failures = 0
        self.dropped = 0
        self.written = 0
        self.last_error: str | None = None
        self.next_attempt_at = 0.0

    @property
    def healthy(self) -> bool:
        """False while the last write to the store failed (drives ``Degraded``)."""
        return self.failures == 0

    @property
    def backlog(self) -> int:
        """Runs and run-less messages waiting to be written."""
        return len(self._pending) + len(self._messages)

    def submit(self, record: RunRecord, messages: Sequence[OutboxMessage] = ()) -> None:
        """Queue a run write (and its notifications); never blocks, never raises on outages."""
        key = record.key
        write = RunWrite(record, tuple(messages))
        if key in self._pending:  # merged in place: the run keeps its turn
            self._pending[key] = merge_writes(self._pending[key], write)
        else:
            if len(self._pending) >= self.capacity:
                self._evict()
            self._pending[key] = write
        self._wake.set()

    def submit_messages(self, messages: Sequence[OutboxMessage]) -> None:
        """Queue outbox messages tied to no run (a ScheduledJob's lifecycle events); never
        blocks. One entry per event id; beyond ``capacity`` the oldest goes (counted in
        :attr:`dropped`): an announcement is not reconstructible as a run is, but the
        bound keeps an outage from growing the process without limit."""
        for message in messages:
            if message.event_id in self._messages:
                continue
            if len(self._messages) >= self.capacity:
                gone, _ = self._messages.popitem(last=False)
                self.dropped += 1
                log.warning("history buffer full, dropped a message", extra={"event_id": gone})
            self._messages[message.event_id] = message
        if messages:
            self._wake.set()

    def _evict(self) -> None:
        """Drop one queued record: a skipped slot's first (no run is lost: the slot stays
        counted in status), then an unfinished run's (its final row will come), else the
        oldest."""
        writes = self._pending.items()
        victim = next((k for k, w in writes if w.record.phase is RunPhase.SKIPPED), None)
        if victim is None:
            victim = next((k for k, w in writes if not w.record.final), None)
        if victim is None:
            victim = next(iter(self._pending))
        del self._pending[victim]
        self.dropped += 1
        log.warning(
            "history buffer full, dropped a run", extra={"uid": victim[0], "job": victim[1]}
        )

    def pending(self, scheduledjob_uid: str, run_name: str) -> RunRecord | None:
        """The queued, not yet written record of a run, if any."""
        write = self._pending.get((scheduledjob_uid, run_name))
        return write.record if write is not None else None

    def retry_now(self) -> None:
        """Skip the rest of the backoff (the caller knows the store just came back)."""
        self.next_attempt_at = self._clock()
        self._retry.set()

    async def has_final_record(self, scheduledjob_uid: str, run_name: str) -> bool:
        """True only once the final phase is *stored*; false while queued or on an outage."""
        if (scheduledjob_uid, run_name) in self._pending:
            return False
        try:
            return await self.store.has_final_record(scheduledjob_uid, run_name)
        except Exception as exc:  # an outage means "not yet": keep the Job
            self.last_error = f"{type(exc).__name__}: {exc}"
            return False

    async def flush(self) -> int:
        """Write everything queued, batch by batch; return how many runs were written.

        Messages tied to no run go first in each flush (a job's ``created`` is queued before
        its runs start, so it usually precedes their events). On failure the batch is put
        back (merged with anything submitted meanwhile), the failure is counted and the
        next attempt is scheduled by the backoff.
        """
        written = 0
        async with self._lock:
            while self._pending or self._messages:
                try:
                    written += await self._write_batch()
                except Exception as exc:
                    self.failures += 1
                    self.last_error = f"{type(exc).__name__}: {exc}"
                    delay = self.backoff.delay(self.failures, self._rng)
                    self.next_attempt_at = self._clock() + delay
                    log.warning(
                        "history write failed, will retry",
                        extra={
                            "backlog": self.backlog,
                            "retry_in": delay,
                            "error": self.last_error,
                        },
                    )
                    return written
            if self.failures:
                log.info("history writes recovered", extra={"written": written})
            self.failures = 0
            self.last_error = None
        return written

    async def _write_batch(self) -> int:
        """Write one batch (messages first, else runs); put it back if the store fails."""
        if self._messages:
            ids = list(self._messages)[: self.batch_size]
            messages = [self._messages.pop(i) for i in ids]
            try:
                await self.store.enqueue(messages)
            except Exception:
                self._messages = OrderedDict(
                    [(m.event_id, m) for m in messages] + list(self._messages.items())
                )
                raise
            return 0
        keys = list(self._pending)[: self.batch_size]
        batch = [self._pending.pop(k) for k in keys]
        began = datetime.now(UTC)
        try:
            await self.store.record_runs(batch)
        except Exception:
            self._restore(batch)
            raise
        self.written += len(batch)
        if self.on_written is not None:
            self.on_written(batch, began)
        return len(batch)

    def _restore(self, batch: list[RunWrite]) -> None:
        """Put a failed batch back in front, merged with newer submissions of the same runs."""
        restored: OrderedDict[RunKey, RunWrite] = OrderedDict()
        for write in batch:
            restored[write.record.key] = merge_writes(
                self._pending.pop(write.record.key, None), write
            )
        restored.update(self._pending)
        self._pending = restored
        while len(self._pending) > self.capacity:
            self._evict()

    async def run(self, stop: asyncio.Event) -> None:
        """Flush whenever something is queued, honouring the backoff; return when ``stop`` is set.

        Bounded: each iteration either writes, or waits at least the backoff delay.
        """
        while not stop.is_set():
            wait = self.next_attempt_at - self._clock() if self.failures else 0.0
            if wait > 0:
                await self._pause(wait, stop)
                continue
            if not self._pending and not self._messages:
                await _wait_any(self._wake, stop)
                self._wake.clear()
                continue
            if self.hold is not None:
                await self.hold()
            try:
                await self.flush()
            except Exception:  # top of a loop iteration (style rule 11)
                log.exception("history flush loop error")
                self.failures += 1
                self.next_attempt_at = self._clock() + self.backoff.delay(self.failures)

    async def _pause(self, seconds: float, stop: asyncio.Event) -> None:
        if self._sleep is not None:
            await self._sleep(seconds)
            return
        self._retry.clear()
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(_wait_any(stop, self._retry), seconds)

    async def aclose(self, timeout: float = 5.0) -> int:
        """Last flush at shutdown, bounded by ``timeout``; return the runs left unwritten."""
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self.flush(), timeout)
        return self.backlog


async def _wait_any(*events: asyncio.Event) -> None:
    tasks = [asyncio.create_task(e.wait()) for e in events]
    try:
        await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for task in tasks:
            task.cancel()
