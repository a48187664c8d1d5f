"""Audit rows written after the response, by one background task, in the order given.

An audit row records a change the API server has already made, so the caller need not
wait for Postgres (a round trip of about a millisecond, a third of a create's budget).
The rows still reach the table: one task writes them in submission order (so the log of
one job reads create, update, delete), the queue is bounded (a slow database makes
requests wait again rather than memory grow), and :meth:`AuditWriter.aclose` writes what
is queued before the process exits. A row that cannot be written is logged and counted,
as before; the change itself stands.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import Counter as Tally
from collections.abc import Sequence
from typing import Final

from prometheus_client import Counter

from almanac.history.records import AuditEntry
from almanac.history.store import RunStore

__all__ = ["DRAIN_SECONDS", "QUEUE_SIZE", "AuditWriter"]

log = logging.getLogger("almanac.api")

QUEUE_SIZE: Final = 1000
DRAIN_SECONDS: Final = 10.0


class AuditWriter:
    """Writes :class:`AuditEntry` rows through ``store`` off the request path."""

    def __init__(
        self, store: RunStore, failures: Counter | None = None, *, capacity: int = QUEUE_SIZE
    ) -> None:
        self._store = store
        self._failures = failures
        self._queue: asyncio.Queue[AuditEntry] = asyncio.Queue(capacity)
        self._task: asyncio.Task[None] | None = None
        self._writing = False  # a row taken from the queue and not yet written
        self._closed = False
        #: Rows submitted and not yet written, by (org, actor, action): rate limits that
        #: count the audit log count these too.
        self._unwritten: Tally[tuple[str | None, str, str]] = Tally()

    def unwritten(self, org_id: str, actor: str, actions: Sequence[str]) -> int:
        """How many of ``actor``'s rows with one of ``actions`` are still queued."""
        return sum(self._unwritten[(org_id, actor, action)] for action in actions)

    async def submit(self, entry: AuditEntry) -> None:
        """Queue ``entry``; waits only while ``capacity`` rows are queued. After
        :meth:`aclose` the row is written before this returns."""
        if self._closed:
            await self._write(entry)
            return
        if self._task is None:
            self._task = asyncio.create_task(self._drain(), name="audit-writer")
        self._unwritten[_key(entry)] += 1
        await self._queue.put(entry)

    async def aclose(self, timeout: float = DRAIN_SECONDS) -> None:
        """Write the queued rows (for at most ``timeout`` seconds), then stop; rows still
        unwritten then are logged and counted as failures."""
        self._closed = True
        if self._task is None:
            return
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._queue.join(), timeout)
        self._task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self._task
        lost = self._queue.qsize() + int(self._writing)
        if lost:
            log.error("audit rows not written at shutdown", extra={"rows": lost})
            if self._failures is not None:
                self._failures.inc(lost)

    async def _drain(self) -> None:
        while True:
            entry = await self._queue.get()
            self._writing = True
            try:
                await self._write(entry)
                self._writing = False
            finally:
                self._unwritten[_key(entry)] -= 1
                if self._unwritten[_key(entry)] <= 0:
                    del self._unwritten[_key(entry)]
                self._queue.task_done()

    async def _write(self, entry: AuditEntry) -> None:
        try:
            await self._store.record_audit(entry)
        except Exception:  # the change is made; a lost audit row must not hide it
            log.exception(
                "audit write failed", extra={"action": entry.action, "namespace": entry.namespace}
            )
            if self._failures is not None:
                self._failures.inc()


def _key(entry: AuditEntry) -> tuple[str | None, str, str]:
    return (entry.org_id, entry.actor, entry.action)
