"""The launch queue's dispatcher, on the leader: releases queued runs as places free.

A queued run is a Job created suspended with the queue's mark (:func:`~almanac.core.runs.
build_job`), so it is launched exactly once and the queue survives a change of leader:
it lives in the API server (``kubectl get jobs -l almanac.dev/queued=true``). Releasing
one is a patch of that Job: ``spec.suspend: false`` and the mark removed, in one merge
patch (the ``almanac.dev/queued-reason`` annotation stays, a record of why it waited).

When: at once (synchronously, in the watch handler) whenever a run stops being active
while others wait, so the freed place is reserved for the queue before any pass can give
it to a new run; when the launch rate has a token again; once a new leader has counted
every Job (settings may allow more than the last leader's); and every
:data:`RECHECK_SECONDS` as a safety net. Which runs: :func:`~almanac.core.queueing.
plan_releases` (priority, then the emptiest namespace, then the oldest).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable
from dataclasses import replace
from datetime import datetime
from typing import Any, Final

from kubernetes_asyncio import client
from kubernetes_asyncio.client.exceptions import ApiException

from almanac.core.naming import rfc3339_utc
from almanac.core.status import RunPhase
from almanac.core.vocabulary import LABEL_QUEUED, EventReason

from .fencing import fenced
from .kube import read_reply
from .launchgate import LaunchGate
from .leader import Fence, NotLeaderError, always
from .logs import log
from .queuemetrics import QueueMetrics
from .recording import RunRecorder, run_record
from .runledger import Entry, RunLedger
from .tracked import Tracked

__all__ = [
    "RECHECK_SECONDS",
    "Dispatcher",
    "JobPatch",
    "job_patcher",
    "queued_message",
    "release_patch",
]

#: Merge-patches a Job: (namespace, name, patch); a Job already gone is no error.
JobPatch = Callable[[str, str, dict[str, Any]], Awaitable[None]]

#: The longest the dispatcher waits between two rounds when nothing wakes it.
RECHECK_SECONDS: Final = 10.0
#: Releases in flight at once (each one patch).
RELEASE_CONCURRENCY: Final = 16


def release_patch() -> dict[str, Any]:
    """The merge patch that starts a queued run."""
    return {"metadata": {"labels": {LABEL_QUEUED: None}}, "spec": {"suspend": False}}


def job_patcher(api: client.ApiClient) -> JobPatch:
    batch = client.BatchV1Api(api)

    async def patch(namespace: str, name: str, body: dict[str, Any]) -> None:
        try:
            await read_reply(
                batch.patch_namespaced_job(
                    name,
                    namespace,
                    body,
                    _content_type="application/merge-patch+json",
                    _preload_content=False,
                )
            )
        except ApiException as exc:
            if exc.status != 404:  # deleted meanwhile: nothing left to release
                raise

    return patch


class Dispatcher:
    def __init__(
        self,
        patch_job: JobPatch,
        gate: LaunchGate,
        metrics: QueueMetrics,
        *,
        owner: Callable[[str, str], Tracked | None],
        post_event: Callable[[Tracked, EventReason, str], None],
        recorder: RunRecorder | None = None,
        clock: Callable[[], datetime],
        fence: Fence = always,
    ) -> None:
        self._patch_job = patch_job
        self.gate = gate
        self.ledger: RunLedger = gate.ledger
        self._metrics = metrics
        self._owner = owner
        self._post_event = post_event
        self._recorder = recorder
        self._clock = clock
        self._fence = fence
        self._wake = asyncio.Event()
        self._limit = asyncio.Semaphore(RELEASE_CONCURRENCY)
        self._tasks: set[asyncio.Task[None]] = set()
        #: False until a new leader has counted every Job (and read the organisations).
        self.ready = False
        self.ledger.on_freed = self.dispatch
        self.ledger.on_rate_held = self._wake.set

    async def start(self) -> None:
        """Before the first launch of a new leader: the organisations of every namespace
        with runs (the Jobs are counted: the caller waited for the watches' lists)."""
        await self.gate.read_orgs()
        self.ready = True

    async def run(self) -> None:
        """Release rounds until cancelled (started once :meth:`start` returned)."""
        try:
            while True:
                self.dispatch()
                self._metrics.show(dict(self.ledger.queued_by_namespace()))
                delay = RECHECK_SECONDS
                if self.ledger.rate_held:
                    now = self._clock()
                    due = self.ledger.bucket.next_token(now)
                    delay = 0.0 if due is None else min(delay, (due - now).total_seconds())
                self._wake.clear()
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._wake.wait(), max(delay, 0.01))
        finally:
            for task in self._tasks:
                task.cancel()

    async def releases_done(self) -> None:
        """Return once the releases started so far have been sent (or refused)."""
        while self._tasks:
            await asyncio.gather(*self._tasks, return_exceptions=True)

    def dispatch(self) -> None:
        """One round: choose (and reserve) the runs to release now, patch them off the
        caller's path. Synchronous, so a freed place is taken before any await."""
        if not self.ready or not self.ledger.queued:
            return
        plan = self.ledger.plan(self._clock())
        for run in plan.releases:
            namespace, name = run.name.split("/", 1)
            entry = self.ledger.entries[(namespace, name)]
            task = asyncio.create_task(self._release(namespace, name, entry))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)
        if plan.releases:
            self._wake.set()  # the gauge follows

    async def _release(self, namespace: str, name: str, entry: Entry) -> None:
        try:
            async with self._limit:
                await self._patch(namespace, name)
        except Exception as exc:
            self.ledger.unrelease(namespace, name)
            level = log.warning if isinstance(exc, NotLeaderError) else log.exception
            level("queued run not released", extra={"job": f"{namespace}/{name}"})
            return
        now = self._clock()
        waited = (now - entry.queued_at).total_seconds() if entry.queued_at else 0.0
        self._metrics.wait.observe(max(0.0, waited))
        log.info(
            "queued run released",
            extra={"job": f"{namespace}/{name}", "waited_seconds": round(waited, 3)},
        )
        owner = self._owner(namespace, entry.owner)
        if owner is None:
            return
        self._post_event(
            owner,
            EventReason.DEQUEUED,
            f"run {name} released from the launch queue after {waited:.0f}s "
            f"(it waited for the {entry.reason or 'launch'} limit)",
        )
        seen = owner.jobs.get(name)
        if self._recorder is not None and owner.spec is not None and seen is not None:
            # Pending again, without the queue's reason: REST reads say running from now.
            pending = replace(seen, phase=RunPhase.PENDING, queued=None, suspended=False)
            record = run_record(owner.ref, owner.spec.template, pending, params=owner.spec.params)
            self._recorder.record(record)

    async def _patch(self, namespace: str, name: str) -> None:
        if not self._fence():
            raise NotLeaderError(f"run {name} not released: the Lease is not surely held")
        with fenced(self._fence, f"release of run {name}"):
            await self._patch_job(namespace, name, release_patch())


def queued_message(job: str, slot: datetime, reason: str) -> str:
    """The ``Queued`` Event's sentence."""
    return (
        f"run {job} for slot {rfc3339_utc(slot)} waits in the launch queue: the {reason} "
        "limit is reached; it starts when a place frees"
    )
