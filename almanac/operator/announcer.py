"""The leader's announcements of ScheduledJob lifecycle changes (``almanac.job.*``).

Driven by the ScheduledJob watch, so a change made through any writer (kubectl, GitOps,
the REST facade) is announced the same way; only the leader runs the watch, and the
announcement is dropped when its fence no longer holds (as launches and status writes
are). The watch feed (:meth:`JobAnnouncer.observe`) is synchronous and never blocks: it
compares the body with the last one seen (:func:`~almanac.core.jobchanges.job_changes`)
and queues what to announce. A task then finds the namespace's organisation (the
``almanac.dev/org-id`` label through the operator's namespace cache, else the ``<id>`` of
an ``org-<id>`` namespace, as run notices do) and hands the message to the history's
write buffer, which commits it to the outbox; the relay publishes it.

What the leader announces after a restart or a failover is the pure rule's
(:mod:`almanac.core.jobchanges`): no memory of the last body, so a relist announces only
recent creations and cancellations, whose ids repeat those already in the outbox.
"""

from __future__ import annotations

import asyncio
import dataclasses
from collections import deque
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta
from typing import Any, Final

from almanac.core.jobchanges import FIRST_SIGHT_WINDOW, JobChange, JobFacts, job_changes, job_facts
from almanac.history import BufferedRecorder
from almanac.notify import NotifySettings, messages_for_job, org_id_of

from .leader import Fence, always
from .logs import log

__all__ = ["QUEUE_LIMIT", "JobAnnouncer"]

#: Changes waiting for their organisation; beyond it the oldest is dropped (and counted):
#: a burst of edits while the API server is slow must not grow the process without bound.
QUEUE_LIMIT: Final = 10_000

#: Reads a namespace's organisation label (``None``: none); may raise on an API outage.
OrgReader = Callable[[str], Awaitable[str | None]]


async def _no_label(_namespace: str) -> str | None:
    return None


class JobAnnouncer:
    """Turns ScheduledJob watch events into lifecycle events in the outbox.

    Parameters
    ----------
    buffer
        The history's write buffer (the outbox is written through it, never awaited here).
    notify
        Topics, and whether notifications are on at all.
    orgs
        The organisation label of a namespace.
    clock
        ``now`` for the first-sight window and the changes' instants.
    fence
        May this process still write as the leader?
    """

    def __init__(
        self,
        buffer: BufferedRecorder,
        notify: NotifySettings,
        *,
        orgs: OrgReader = _no_label,
        clock: Callable[[], datetime],
        fence: Fence = always,
        window: timedelta = FIRST_SIGHT_WINDOW,
        limit: int = QUEUE_LIMIT,
    ) -> None:
        self.buffer = buffer
        self._notify = notify
        self._orgs = orgs
        self._clock = clock
        self._fence = fence
        self._window = window
        self._limit = limit
        self._known: dict[str, JobFacts] = {}
        self._queue: deque[JobChange] = deque()
        self._wake = asyncio.Event()
        self.dropped = 0

    def observe(self, body: dict[str, Any], deleted: bool) -> None:
        """A ScheduledJob as its watch delivers it: queue what the change announces."""
        if not self._notify.enabled:
            return
        seen = job_facts(body)
        if seen is None:
            log.warning("ScheduledJob event not announced: no namespace, name or uid")
            return
        old: JobFacts | None
        new: JobFacts | None
        if deleted:
            # A relist reports a vanished job by its identity only: its last body says more.
            last = self._known.pop(seen.uid, None) or seen
            old, new = dataclasses.replace(last, deleted=seen.deleted or last.deleted), None
        else:
            old, new = self._known.get(seen.uid), seen
            self._known[seen.uid] = seen
        for change in job_changes(old, new, self._clock(), window=self._window):
            self._enqueue(change)

    def _enqueue(self, change: JobChange) -> None:
        if len(self._queue) >= self._limit:
            gone = self._queue.popleft()
            self.dropped += 1
            log.warning(
                "job event dropped: too many waiting",
                extra={"scheduledjob": _name(gone), "action": str(gone.action)},
            )
        self._queue.append(change)
        self._wake.set()

    @property
    def waiting(self) -> int:
        """Changes queued and not yet handed to the write buffer."""
        return len(self._queue)

    async def run(self) -> None:
        """Hand queued changes to the outbox as they come, until cancelled."""
        while True:
            await self._wake.wait()
            self._wake.clear()
            await self.announce_waiting()

    async def announce_waiting(self) -> None:
        """Announce every queued change, in order; one that fails is logged and skipped."""
        while self._queue:
            change = self._queue.popleft()
            try:
                await self.announce(change)
            except Exception:  # top of a loop iteration (style rule 11)
                log.exception("job event not announced", extra={"scheduledjob": _name(change)})

    async def announce(self, change: JobChange) -> None:
        """Commit ``change``'s event to the outbox (through the buffer), if still leader."""
        org = await self._org(change.facts.namespace)
        if not self._fence():
            log.warning(
                "job event not announced: Lease not surely held",
                extra={"scheduledjob": _name(change), "action": str(change.action)},
            )
            return
        self.buffer.submit_messages(messages_for_job(change, self._notify, org))

    async def _org(self, namespace: str) -> str | None:
        """The namespace's organisation; ``None`` when it cannot be read (a guess could
        name another organisation on a topic every organisation's consumers read)."""
        try:
            label = await self._orgs(namespace)
        except Exception as exc:
            log.warning(
                "job event names no organisation: namespace unreadable",
                extra={"namespace": namespace, "error": str(exc)},
            )
            return None
        return label or org_id_of(namespace)


def _name(change: JobChange) -> str:
    return f"{change.facts.namespace}/{change.facts.name}"
