"""Status patches and Events off the launch path.

A reconcile computes the new status and the Events to post, and returns; this task writes
the newest status of each changed ScheduledJob (older unwritten ones are simply replaced:
coalescing) and posts Events, a few requests at a time. Launches never wait for either,
which is what keeps the schedule lag of a thousand simultaneous slots near the API
server's create rate. The in-memory status is authoritative for the leader until written.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
from collections.abc import Awaitable, Callable, Iterator
from datetime import datetime
from typing import Any, Final

from almanac.core.runs import JobObservation
from almanac.core.vocabulary import EventReason

from .bounded import each_bounded
from .fencing import fenced
from .kube import Kube, ObjectRef, RunOutcome
from .leader import Fence, NotLeaderError, always
from .logs import log
from .observability import Metrics
from .recording import RunRecorder, run_record
from .tracked import Tracked

#: Event reasons posted as Warning (what went wrong), the others as Normal.
WARNINGS: Final = frozenset(
    {EventReason.FAILED, EventReason.SKIPPED, EventReason.PAUSED_AFTER_FAILURES}
)

__all__ = ["BackgroundWriter"]

EVENT_BACKLOG = 10_000
#: The longest a launch burst holds the writes back: a steady stream of event-triggered
#: launches is one endless burst, and status, Events and history must still follow it.
MAX_HOLD_SECONDS = 5.0


class BackgroundWriter:
    def __init__(
        self,
        kube: Kube,
        metrics: Metrics,
        *,
        started: datetime,
        concurrency: int = 8,
        recorder: RunRecorder | None = None,
        on_finished: Callable[[Tracked, JobObservation, RunOutcome], None] | None = None,
        fence: Fence = always,
    ) -> None:
        self._kube = kube
        self._fence = fence
        self._on_finished = on_finished
        self._recorder = recorder
        self._metrics = metrics
        self._started = started
        self._concurrency = concurrency
        self._dirty: dict[tuple[str, str], Tracked] = {}
        self._events: asyncio.Queue[tuple[ObjectRef, EventReason, str]] = asyncio.Queue(
            EVENT_BACKLOG
        )
        self._calls: list[Callable[[], Awaitable[None]]] = []
        #: Per ScheduledJob uid, the streak (its newest counted run) a suspension was
        #: asked for: passes repeat the ask until the watch shows the job suspended.
        self._suspensions: dict[str, str] = {}
        self._wake = asyncio.Event()
        self._launching = 0
        self._quiet = asyncio.Event()
        self._quiet.set()

    @contextlib.contextmanager
    def launching(self) -> Iterator[None]:
        """While the scheduler launches due runs, writes wait: Job creations go first on
        the API server (every launch would otherwise bring a status patch and an Event
        along, tripling the requests of a burst of simultaneous slots)."""
        self._launching += 1
        self._quiet.clear()
        try:
            yield
        finally:
            self._launching -= 1
            if not self._launching:
                self._quiet.set()

    async def launches_done(self) -> None:
        """Return once no launch burst is in progress, or after ``MAX_HOLD_SECONDS``."""
        if self._quiet.is_set():
            return  # the common case: no timer task for the watch's every batch
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._quiet.wait(), MAX_HOLD_SECONDS)

    def status(self, t: Tracked, status: dict[str, Any]) -> None:
        """Take a newly computed status; it is written soon (unless nothing changed)."""
        if status == (t.pending if t.pending is not None else t.written):
            return
        t.pending = status
        t.set_status(status)
        self._dirty[t.key] = t
        self._wake.set()

    def rerecord(self, t: Tracked, job: str) -> None:
        """Record finished run ``job`` again on the next round (no Event, no chain)."""
        t.rerecord.add(job)
        self.touch(t)

    def touch(self, t: Tracked) -> None:
        """Visit ``t`` on the next round even if its status did not change (finished runs
        not yet announced or recorded by this process get their turn)."""
        self._dirty.setdefault(t.key, t)
        self._wake.set()

    def later(self, call: Callable[[], Awaitable[None]]) -> None:
        """Make one more API write off the launch path (e.g. a RunRequest's new phase)."""
        self._calls.append(call)
        self._wake.set()

    def suspend(self, t: Tracked, reason: str, counted_to: str) -> None:
        """Suspend a job whose failure streak reached ``spec.pauseAfterFailures``, then
        post the Event: once per streak (``counted_to``), since the passes before the
        watch shows the spec suspended ask again; a write that fails is forgotten, so
        the next pass asks anew. Fenced like every leader write (invariant
        one-scheduler)."""
        uid = t.ref.uid
        if self._suspensions.get(uid) == counted_to:
            return
        self._suspensions[uid] = counted_to

        async def write() -> None:
            try:
                if not self._fence():
                    raise NotLeaderError(f"suspension of {t.ref.name} not sent: Lease not held")
                with fenced(self._fence, f"suspension of {t.ref.name}"):
                    await self._kube.suspend_scheduled_job(t.ref, reason)
            except Exception:
                self._suspensions.pop(uid, None)
                raise
            name = f"{t.ref.namespace}/{t.ref.name}"
            log.warning("job paused after failures", extra={"scheduledjob": name, "uid": uid})
            self.event(t.ref, EventReason.PAUSED_AFTER_FAILURES, reason)

        self.later(write)

    def event(self, ref: ObjectRef, reason: EventReason, message: str) -> None:
        try:
            self._events.put_nowait((ref, reason, message))
        except asyncio.QueueFull:
            log.warning("event dropped: backlog full", extra={"reason": reason})
        self._wake.set()

    async def run(self) -> None:
        while True:
            await self._wake.wait()
            await self.launches_done()
            self._wake.clear()
            batch, self._dirty = self._dirty, {}
            calls, self._calls = self._calls, []
            events = []
            while not self._events.empty():
                events.append(self._events.get_nowait())
            writes: list[Callable[[], Awaitable[None]]] = [
                *(functools.partial(self._flush, t) for t in batch.values()),
                *(functools.partial(self._post, *e) for e in events),
                *calls,
            ]
            await each_bounded(writes, self._concurrency, self._guard)

    async def _guard(self, write: Callable[[], Awaitable[None]]) -> None:
        try:
            await write()
        except Exception:
            self._metrics.reconcile_errors.inc()
            log.exception("background write failed")

    async def _post(self, ref: ObjectRef, reason: EventReason, message: str) -> None:
        await self._kube.post_event(ref, reason, message, warning=reason in WARNINGS)

    async def _flush(self, t: Tracked) -> None:
        await self._announce_finished(t)
        original = status = t.pending
        if status is None:
            return
        last = status.get("lastRun")
        if last and not last.get("message") and t.messages.get(last["job"]):
            status = status | {"lastRun": last | {"message": t.messages[last["job"]][:4096]}}
        try:
            if not self._fence():
                raise NotLeaderError(f"status of {t.ref.name} not written: Lease not surely held")
            with fenced(self._fence, f"status of {t.ref.name}"):
                t.resource_version = await self._kube.patch_status(t.ref, status, None)
        except Exception:
            self._dirty.setdefault(t.key, t)  # try again on the next round
            raise
        if t.pending is original:
            t.pending = None
        t.written = status
        self._metrics.status_writes.inc()

    async def _announce_finished(self, t: Tracked) -> None:
        """A history record per finished run, and an Event, a metric and the result
        message (runs that ended before this process started were announced by the
        previous leader, but are recorded again: the upsert makes that harmless)."""
        for job in list(t.jobs.values()):
            again = job.name in t.rerecord
            if not job.finished or (job.name in t.announced and not again):
                continue
            t.announced.add(job.name)
            t.rerecord.discard(job.name)
            outcome = RunOutcome()
            with contextlib.suppress(Exception):
                outcome = await self._kube.run_outcome(t.ref.namespace, job.name)
            message = outcome.summary
            t.messages[job.name] = message
            if self._recorder:
                template = t.spec.template if t.spec else ""
                params = t.spec.params if t.spec else None
                retry = t.spec.retry if t.spec else None
                record = run_record(t.ref, template, job, outcome, params=params, retry=retry)
                self._recorder.record(record)
            if again:
                continue  # announced before: only its history row was lost
            if self._on_finished is not None:
                self._on_finished(t, job, outcome)
            if job.completion_time is not None and job.completion_time < self._started:
                continue
            result = job.phase.value
            self._metrics.finished.labels(result=result).inc()
            self._metrics.jobs.observe_run(t.key, job)
            self.event(
                t.ref,
                EventReason(result),
                f"run {job.name} {result.lower()}" + (f": {message}" if message else ""),
            )
