"""The one path by which a run becomes a Job: schedules, retries, run-now, RunRequests
(events, chains, backfill) and event runs created at once all launch here.

A launch builds the Job from the ScheduledJob and its template, creates it (a Job that
exists already is that run: the names are deterministic), and then, off the launch path,
records the run in history, counts it, logs it with its run id and posts its Event.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any

from almanac.core.actions import LaunchRequest
from almanac.core.naming import rfc3339_utc
from almanac.core.runrequests import RequestPhase, RunRequestSpec, run_request_body, status_patch
from almanac.core.runs import JobObservation, RunRequest, build_job, job_name_of
from almanac.core.snapshot import StoredRequest
from almanac.core.status import RunPhase, TriggerKind
from almanac.core.templates import JobTemplateSpec
from almanac.core.topicpolicy import TOPICS_VARIABLE
from almanac.core.vocabulary import EventReason

from .dispatch import queued_message
from .fencing import fenced
from .kube import Kube
from .launchgate import Admission, LaunchGate
from .leader import Fence, NotLeaderError, always
from .logs import log
from .namespacecache import NamespaceCache
from .observability import Metrics
from .recording import RunRecorder, run_record
from .tracked import Tracked
from .writer import BackgroundWriter

__all__ = ["EVENT_CONCURRENCY", "Launcher", "fields_of"]

#: RunRequest creations (the trigger consumer) and event-run launches in flight: the launch
#: stage is as wide as the creation stage before it.
EVENT_CONCURRENCY = 96

CountTrigger = Callable[[Tracked, str, str], None]
#: Runs whose first attempt posts no Event of its own (see :meth:`Launcher.launch`).
_QUIET = frozenset({TriggerKind.EVENT, TriggerKind.AFTER})


def fields_of(t: Tracked) -> dict[str, Any]:
    """Log fields naming a ScheduledJob."""
    return {"scheduledjob": f"{t.ref.namespace}/{t.ref.name}", "uid": t.ref.uid}


class Launcher:
    def __init__(
        self,
        kube: Kube,
        metrics: Metrics,
        writer: BackgroundWriter,
        *,
        clock: Callable[[], datetime],
        count_trigger: CountTrigger,
        run_env: Mapping[str, str] | None = None,
        recorder: RunRecorder | None = None,
        namespaces: NamespaceCache | None = None,
        request_concurrency: int = EVENT_CONCURRENCY,
        fence: Fence = always,
        gate: LaunchGate | None = None,
    ) -> None:
        self._kube = kube
        #: The launch limits (``None``: none, every run starts at once).
        self.gate = gate
        self._fence = fence
        self._metrics = metrics
        self._writer = writer
        self._clock = clock
        self._count_trigger = count_trigger
        self._run_env = dict(run_env or {})
        self._recorder = recorder
        #: Namespaces' topic allow-lists, handed to each run (``None``: tests, no lists).
        self.namespaces = namespaces
        # At the slot launch width (32) this was the queue of an event burst: Job creations
        # taking 300 ms on a busy API server capped launches near 100 a second.
        self.request_limit = asyncio.Semaphore(request_concurrency)

    async def launch(
        self,
        t: Tracked,
        template: JobTemplateSpec,
        run: RunRequest,
        now: datetime,
        *,
        reason: EventReason = EventReason.LAUNCHED,
    ) -> bool:
        """Create ``run``'s Job; False when it existed already (launched before). A run
        the limits hold is created suspended, in the launch queue (:mod:`.dispatch`)."""
        assert t.spec is not None
        job = job_name_of(t.ref.name, t.ref.uid, run)
        env = await self._env_for(t.ref.namespace)
        admitted = await self.gate.admit(t, job, now) if self.gate else Admission(None, 0)
        queued = admitted.queued.value if admitted.queued is not None else None
        created = False
        try:  # a reservation made is given back whatever happens next
            body = build_job(
                name=t.ref.name,
                namespace=t.ref.namespace,
                uid=t.ref.uid,
                spec=t.spec,
                run=run,
                template=template,
                extra_env=env,
                queued=queued,
                priority=admitted.priority,
            )
            if not self._fence():
                raise NotLeaderError(f"run {job} not launched: the Lease is not surely held")
            with fenced(self._fence, f"run {job}"):
                created = await self._kube.create_job(t.ref.namespace, body)
        finally:
            if self.gate is not None:
                self.gate.settle(t.ref.namespace, job, created=created)
        fields = fields_of(t) | {
            "job": job,
            "slot": rfc3339_utc(run.slot),
            "trigger": run.trigger.value,
            "attempt": run.attempt,
        }
        if run.event_id is not None:
            fields |= {"event_id": run.event_id, "request": run.request}
        pending = JobObservation(
            job,
            run.slot,
            run.trigger,
            run.attempt,
            RunPhase.PENDING,
            None,
            None,
            request=run.request,
            event_id=run.event_id,
            suspended=queued is not None,
            queued=queued,
            priority=admitted.priority,
            queued_at=now if queued is not None else None,
        )
        t.unseen[job] = (pending, time.monotonic())  # a run now, before the watch says so
        if not created:
            log.info("run already launched", extra=fields)
            return False
        if self._recorder:
            started = now if queued is None else None  # queue time is not run time
            self._recorder.record(
                run_record(
                    t.ref, t.spec.template, pending, launched_at=started, params=t.spec.params
                )
            )
        lag = (self._clock() - run.slot).total_seconds()
        self._metrics.launched.labels(trigger=run.trigger.value).inc()
        self._metrics.lag.observe(max(0.0, lag))
        log.info("run launched", extra=fields | {"lag_seconds": round(lag, 3), "queued": queued})
        if queued is not None:
            self._metrics.queue.queued_total.labels(reason=queued).inc()
        if queued is not None and (run.trigger not in _QUIET or run.attempt > 1):
            self._writer.event(t.ref, EventReason.QUEUED, queued_message(job, run.slot, queued))
        elif run.trigger not in _QUIET or run.attempt > 1:
            # An event's first run is recorded by its Job or RunRequest, and by the
            # trigger's counters (and the match by an EventMatched Event when delayed): one
            # Event per event would double the API writes of an event burst.
            slot = rfc3339_utc(run.slot)
            self._writer.event(
                t.ref,
                reason,
                f"run {job} for slot {slot} ({run.trigger.value}, attempt {run.attempt})",
            )
        return True

    async def launch_request(
        self, t: Tracked, template: JobTemplateSpec, action: LaunchRequest, now: datetime
    ) -> None:
        """Launch a pending RunRequest; its phase is settled in memory before any await, so
        the other path (a pass, or the launch on acceptance) never launches it too."""
        stored = t.requests.get(action.request)
        if stored is None or stored.status.phase is not RequestPhase.PENDING:
            return
        pending = stored.status
        # In flight: no other pass launches it; the API hears "Launched" only once it is.
        stored.status = pending.model_copy(update={"phase": RequestPhase.LAUNCHED})
        try:
            async with self.request_limit:
                created = await self.launch(t, template, action.run, now, reason=action.reason)
        except Exception:
            stored.status = pending
            raise  # the reconcile is retried; the request is still pending
        self.settle(t, stored, RequestPhase.LAUNCHED, now, "", job=action.job)
        if created and action.trigger:
            self._count_trigger(t, action.trigger, "launched")

    async def ask(self, t: Tracked, name: str, spec: RunRequestSpec) -> None:
        """Store a RunRequest a pass asked for (a backfill by annotation); the pass that
        sees it launches its run, as for the facade's. One that exists already is that
        request (asked before): nothing new."""
        body = run_request_body(
            name=name, namespace=t.ref.namespace, owner=t.ref.name, owner_uid=t.ref.uid, spec=spec
        )
        await self._kube.create_run_request(t.ref.namespace, body)

    def settle(
        self,
        t: Tracked,
        stored: StoredRequest,
        phase: RequestPhase,
        now: datetime,
        message: str,
        *,
        job: str | None = None,
    ) -> None:
        """Record a request's end in memory at once (no second launch), then in the API,
        off the launch path (a lost write only means a later AlreadyExists launch)."""
        patch = status_patch(phase, now, job=job, message=message)
        stored.status = stored.status.model_validate(patch)
        namespace = t.ref.namespace
        self._writer.later(
            lambda: self._kube.patch_run_request_status(namespace, stored.name, patch)
        )

    async def _env_for(self, namespace: str) -> Mapping[str, str]:
        """The operator's variables for a run, with its namespace's topic allow-list."""
        if self.namespaces is None:
            return self._run_env
        topics = (await self.namespaces.get(namespace)).topics.text()
        return self._run_env if topics is None else self._run_env | {TOPICS_VARIABLE: topics}
