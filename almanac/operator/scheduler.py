"""The scheduler: one asyncio task, one heap of wake-ups, one reconcile per ScheduledJob.

Watch events (Kopf ``on.event``) and timers both end up as heap entries; the loop pops
everything due, reconciles those objects concurrently (bounded), and sleeps until the next
entry. No per-object timers or daemons (scale design), and every decision comes from
``almanac.core`` with ``now`` passed in.
"""

from __future__ import annotations

import asyncio
import contextlib
import heapq
import itertools
import time
from collections.abc import Callable, Iterable, Mapping
from contextlib import AbstractContextManager
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

from almanac.core.decisions import Buffer, Launch, Skip
from almanac.core.errors import AlmanacError
from almanac.core.naming import claimed_owner, rfc3339_utc, run_name
from almanac.core.overlap import backfill_releases, decide_overlap, release_buffered
from almanac.core.params import validate_params
from almanac.core.plan import next_run_time, plan_tick, schedule_anchor
from almanac.core.runrequests import RequestPhase, RunRequestSpec, launch_of, status_patch
from almanac.core.runs import (
    BUILTIN_TEMPLATES,
    LABEL_RUN_NOW_KEY,
    JobObservation,
    RunRequest,
    build_job,
    builtin_template,
    observe_job,
    run_now_label,
    run_params,
)
from almanac.core.runstatus import due_retries, jobs_to_prune
from almanac.core.schedule import summarize_schedule
from almanac.core.status import ActiveRun, RunPhase, TriggerKind
from almanac.core.templates import JobTemplateSpec
from almanac.core.templateuse import choose_template, use_refusal
from almanac.core.topicpolicy import TOPICS_VARIABLE
from almanac.core.vocabulary import EventReason
from almanac.templates import builtin_params_schema

from .bounded import each_bounded
from .kube import Kube, RunOutcome
from .logs import log
from .namespacecache import NamespaceCache
from .observability import Metrics
from .recording import RunRecorder, run_record
from .statusview import compose_status
from .tracked import StoredRequest, Tracked, schedule_digest
from .writer import BackgroundWriter

__all__ = ["Scheduler"]

Key = tuple[str, str]
IDLE_TICK = 5.0  # the loop wakes at least this often so liveness sees it alive
#: How long a change a pass only needs to read (a Job's phase, a trigger counter) waits for
#: more: at a hundred events a second a job with a thousand runs in flight was
#: reconciled hundreds of times a second, each pass O(runs).
COALESCE = timedelta(milliseconds=200)
#: RunRequest creations (the trigger consumer) and event-run launches in flight: the launch
#: stage is as wide as the creation stage before it.
EVENT_CONCURRENCY = 96
#: How long an event run's Job is kept when it is the event's only record (no RunRequest):
#: the dedup window of redelivered events, as long as settled RunRequests are kept.
EVENT_RECORD_WINDOW = timedelta(minutes=15)


class Scheduler:
    def __init__(
        self,
        kube: Kube,
        metrics: Metrics,
        *,
        image: str,
        concurrency: int = 32,
        request_concurrency: int = EVENT_CONCURRENCY,
        run_env: Mapping[str, str] | None = None,
        recorder: RunRecorder | None = None,
        event_record_window: timedelta = EVENT_RECORD_WINDOW,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
        namespaces: NamespaceCache | None = None,
    ) -> None:
        self._kube = kube
        #: Namespaces' topic allow-lists, handed to each run (``None``: tests, no lists).
        self.namespaces = namespaces
        self._metrics = metrics
        self._image = image
        self._run_env = dict(run_env or {})
        self._clock = clock
        self._objects: dict[Key, Tracked] = {}
        self._orphans: dict[tuple[str, str], dict[str, JobObservation]] = {}
        self._builtins: dict[str, JobTemplateSpec] = {}
        self._orphan_requests: dict[tuple[str, str], dict[str, StoredRequest]] = {}
        #: Jobs and RunRequests name their owner by uid: found without a scan per event.
        self._by_uid: dict[str, Tracked] = {}
        #: Called once per finished run this process announces (``after`` triggers).
        self.on_run_finished: Callable[[Tracked, JobObservation, RunOutcome], None] | None = None
        #: Bumped whenever the set of ScheduledJobs or their triggers may have changed.
        self.generation = 0
        self._templates: dict[tuple[str, str], JobTemplateSpec] = {}
        self._heap: list[tuple[datetime, int, Key]] = []
        #: The earliest queued wake-up per object: a later poke adds nothing to it.
        self._wakes: dict[Key, datetime] = {}
        #: activeCount of each object's latest status, and their sum (the gauge).
        self._active_counts: dict[Key, int] = {}
        self._active_total = 0
        self._seq = itertools.count()
        self._wake = asyncio.Event()
        self._concurrency = concurrency
        # At the slot launch width (32) this was the queue of an event burst: Job creations
        # taking 300 ms on a busy API server capped launches near 100 a second.
        self._request_limit = asyncio.Semaphore(request_concurrency)
        self._direct: set[asyncio.Task[None]] = set()
        self._event_record_window = event_record_window
        #: (ScheduledJob uid, request name) of every Job a RunRequest or an event asked
        #: for, and of those being created: an event id met again is a duplicate even
        #: when its copy was produced later (a later instant gives a new Job name).
        self._requested_jobs: dict[tuple[str, str], str] = {}
        self._creating: set[tuple[str, str]] = set()
        #: Set once the Job and RunRequest watches have listed everything: only then is
        #: "this event was accepted before" answered from memory (the consumer waits).
        self.synced = asyncio.Event()
        self._listed: set[str] = set()
        self.last_tick = time.monotonic()
        self._recorder = recorder
        self._writer = BackgroundWriter(
            kube, metrics, started=clock(), recorder=recorder, on_finished=self._finished
        )

    # -- feeds (called from Kopf handlers; never block) ---------------------------------

    def upsert(self, body: dict[str, Any]) -> None:
        key = (body["metadata"]["namespace"], body["metadata"]["name"])
        tracked = self._objects.get(key)
        if tracked is None or tracked.ref.uid != body["metadata"]["uid"]:
            if tracked is not None:  # deleted and made again under the same name
                self._by_uid.pop(tracked.ref.uid, None)
            tracked = Tracked.from_body(body)
            owner_key = (tracked.ref.namespace, tracked.ref.uid)
            tracked.jobs = self._orphans.pop(owner_key, {})
            tracked.requests = self._orphan_requests.pop(owner_key, {})
            self._objects[key] = tracked
            self._by_uid[tracked.ref.uid] = tracked
        elif tracked.only_status_changed(body):
            # Our own status write coming back: nothing to plan (and no spec to re-parse).
            tracked.resource_version = str(body["metadata"].get("resourceVersion", ""))
            return
        else:
            tracked.refresh(body)
        self.generation += 1
        self._metrics.scheduled_jobs.set(len(self._objects))
        self.poke(key)

    def forget(self, namespace: str, name: str) -> None:
        gone = self._objects.pop((namespace, name), None)
        if gone is not None:
            self._by_uid.pop(gone.ref.uid, None)
        self._count_active((namespace, name), 0)
        self.generation += 1
        self._metrics.scheduled_jobs.set(len(self._objects))

    def objects(self) -> list[Tracked]:
        return list(self._objects.values())

    def find(self, namespace: str, name: str) -> Tracked | None:
        return self._objects.get((namespace, name))

    def request_event(self, body: dict[str, Any], deleted: bool) -> None:
        """A RunRequest changed: keep it with its ScheduledJob; wake that at the due time."""
        name = body["metadata"]["name"]
        claimed = self._claimed(body, "RunRequest")
        if claimed is None:
            return
        owner = self._owner(claimed)
        requests = owner.requests if owner else self._orphan_requests.setdefault(claimed, {})
        if deleted:
            requests.pop(name, None)
            return
        known = requests.get(name)
        if known is not None and known.status.phase is not RequestPhase.PENDING:
            return  # settled: a phase of ours is newer than any echo (and nothing to parse)
        try:
            stored = StoredRequest.from_body(body)
        except ValueError as exc:
            log.warning("RunRequest ignored", extra={"request": name, "error": str(exc)})
            return
        if known is None:
            requests[name] = known = stored
        else:
            # Updated in place: a launch in progress holds this object.
            known.status = stored.status
        if owner and known.status.phase is RequestPhase.PENDING:
            self.poke(owner.key, max(self._clock(), known.spec.due_time))

    def accepted(self, body: dict[str, Any]) -> None:
        """A RunRequest this process just created: kept, and launched at once when it is
        due (not on the next pass: a burst of events would wait for the pass before)."""
        self.request_event(body, deleted=False)
        claimed = claimed_owner(body["metadata"])
        owner = self._owner(claimed) if claimed else None
        stored = owner.requests.get(body["metadata"]["name"]) if owner else None
        now = self._clock()
        if owner is None or stored is None or owner.spec is None or owner.error is not None:
            return
        template = self._template(owner)
        if (
            template is None
            or stored.status.phase is not RequestPhase.PENDING
            or stored.spec.due_time > now
            or _refuse_template_use(owner, template) is not None
        ):
            return  # the reconcile pass decides, and says why in status
        task = asyncio.create_task(self._launch_direct(owner, template, stored, now))
        self._direct.add(task)
        task.add_done_callback(self._direct.discard)

    def listed(self, kind: str) -> None:
        """A watch ("job", "runrequest") has listed every namespace in scope once."""
        self._listed.add(kind)
        if {"job", "runrequest"} <= self._listed:
            self.synced.set()

    def already_accepted(self, t: Tracked, name: str) -> bool:
        """The event behind request ``name`` has its record already: a RunRequest, or a
        Job made from it (one being created included). Exact once :attr:`synced` is set."""
        key = (t.ref.uid, name)
        return name in t.requests or key in self._requested_jobs or key in self._creating

    async def launch_event_now(self, t: Tracked, name: str, spec: RunRequestSpec) -> bool | None:
        """An event's run that is due now and can start now becomes its Job at once, named
        as its RunRequest's Job would be: that Job is the event's durable record (a
        redelivered event meets AlreadyExists), and the event costs one API write instead
        of three. True: created; False: the event has a record already. None: the run
        needs its RunRequest (delayed, a chain, suspended, retried, a template missing or
        refusing it, the create failed, or the watches have not listed yet), which records
        why and launches it later."""
        now = self._clock()
        if not self.synced.is_set():
            return None  # the RunRequest's name settles it
        if self.already_accepted(t, name):
            return False
        if spec.kind != "event" or spec.due_time > now or t.spec is None or t.error is not None:
            return None
        if t.spec.suspend or t.spec.retry.max_attempts > 1:
            return None  # a skip is recorded, and a retry re-reads the request
        template = self._template(t)
        if template is None or _refuse_template_use(t, template) is not None:
            return None
        run = launch_of(name, spec)
        try:
            validate_params(run_params(t.spec, run), template.params_schema)
        except AlmanacError:
            return None  # the request is kept as Failed with the reason
        key = (t.ref.uid, name)
        self._creating.add(key)
        try:
            async with self._request_limit:
                created = await self._launch(t, template, run, now, reason=EventReason.TRIGGERED)
        except Exception as exc:
            fields = _fields(t) | {"event_id": spec.source.id, "request": name}
            log.warning("event run not created at once", extra=fields | {"error": str(exc)})
            return None
        finally:
            self._creating.discard(key)
        self._requested_jobs.setdefault(key, _job_name(t, run))
        if created:
            self.count_trigger(t, spec.trigger, "launched")
        return created

    async def _launch_direct(
        self, t: Tracked, template: JobTemplateSpec, stored: StoredRequest, now: datetime
    ) -> None:
        try:
            with self._writer.launching():
                await self._launch_request(t, template, stored, now)
        except Exception:
            self._metrics.reconcile_errors.inc()
            log.exception("event run not launched; retrying", extra=_fields(t))
            self.poke(t.key, self._clock() + timedelta(seconds=5))

    def count_trigger(
        self, t: Tracked, trigger: str, outcome: str, error: str | None = None
    ) -> None:
        """One trigger outcome: into status (next write) and the metric."""
        t.count(trigger, outcome, error)
        self._metrics.trigger_events.labels(t.ref.namespace, t.ref.name, trigger, outcome).inc()
        self._observed(t.key)

    def _owner(self, claimed: tuple[str, str]) -> Tracked | None:
        """The tracked ScheduledJob of ``(namespace, uid)``: same uid and same namespace."""
        namespace, uid = claimed
        owner = self._by_uid.get(uid)
        return owner if owner is not None and owner.ref.namespace == namespace else None

    def _claimed(self, body: dict[str, Any], kind: str) -> tuple[str, str] | None:
        """Whose run ``body`` is, by label and controller reference together; an object
        whose label and owner disagree is somebody's forgery and is ignored."""
        claimed = claimed_owner(body["metadata"])
        if claimed is None:
            self._metrics.foreign_objects.labels(kind).inc()
            log.warning(
                "object ignored: its scheduledjob-uid label names no controller owner",
                extra={
                    "kind": kind,
                    "object": f"{body['metadata'].get('namespace')}/{body['metadata'].get('name')}",
                },
            )
        return claimed

    def job_event(self, body: dict[str, Any], deleted: bool) -> None:
        seen = observe_job(body)
        if seen is None:
            return
        claimed = self._claimed(body, "Job")
        if claimed is None:
            return
        uid = claimed[1]
        owner = self._owner(claimed)
        jobs = owner.jobs if owner else self._orphans.setdefault(claimed, {})
        if seen.request is not None:
            if deleted:
                if self._requested_jobs.get((uid, seen.request)) == seen.name:
                    del self._requested_jobs[(uid, seen.request)]
            else:
                self._requested_jobs[(uid, seen.request)] = seen.name
        if deleted:
            jobs.pop(seen.name, None)
            if self._recorder:
                self._recorder.forget(uid, seen.name)
        elif jobs.get(seen.name) == seen:
            # Most of a Job's updates (ready counts, pod bookkeeping) change nothing the
            # schedule or the status reads: no reconcile for them.
            return
        else:
            jobs[seen.name] = seen
        if owner:
            if self._recorder and seen.phase is RunPhase.RUNNING and not deleted:
                record = run_record(owner.ref, _template_name(owner), seen, params=_params(owner))
                self._recorder.record(record)
            self._observed(owner.key)

    async def launches_done(self) -> None:
        """Return once no launch burst is in progress (Job events wait for it)."""
        await self._writer.launches_done()

    def launching(self) -> AbstractContextManager[None]:
        """Mark a launch in progress (an event's RunRequest and Job too): background
        writes, Job events and history rows yield to it, for a few seconds at most."""
        return self._writer.launching()

    def template_event(self, namespace: str, name: str, spec: JobTemplateSpec | None) -> None:
        """A template ("" namespace: cluster-wide) appeared, changed or went: the
        ScheduledJobs naming it are reconciled again. Watches deliver in no set order, so a
        ScheduledJob seen before its template waits for this (TemplateNotFound until then)."""
        if spec is None:
            self._templates.pop((namespace, name), None)
        else:
            self._templates[(namespace, name)] = spec
        for key, tracked in self._objects.items():
            uses = tracked.spec is not None and tracked.spec.template == name
            if uses and (not namespace or tracked.ref.namespace == namespace):
                self.poke(key)

    def poke_all(self) -> None:
        """Reconcile every ScheduledJob soon (e.g. history health changed: conditions follow)."""
        for key in self._objects:
            self.poke(key)

    def _degraded(self) -> str | None:
        return self._recorder.problem if self._recorder else None

    def poke(self, key: Key, when: datetime | None = None) -> None:
        """Reconcile ``key`` at ``when`` (now by default). A pass already queued for that
        time or earlier covers it: every pass re-plans all later wake-ups itself."""
        when = when or self._clock()
        queued = self._wakes.get(key)
        if queued is not None and queued <= when:
            return
        self._wakes[key] = when
        heapq.heappush(self._heap, (when, next(self._seq), key))
        self._wake.set()

    def _observed(self, key: Key) -> None:
        """Something a pass reads changed (a Job's phase, a trigger counter): reconcile
        soon, once for a stream of such changes rather than once per change."""
        self.poke(key, self._clock() + COALESCE)

    # -- the loop --------------------------------------------------------------------------

    async def run(self) -> None:
        writing = asyncio.create_task(self._writer.run())
        try:
            await self._tick_forever()
        finally:
            writing.cancel()

    async def _tick_forever(self) -> None:
        while True:
            self.last_tick = time.monotonic()
            now = self._clock()
            due: set[Key] = set()
            while self._heap and self._heap[0][0] <= now:
                when, _, key = heapq.heappop(self._heap)
                if self._wakes.get(key) == when:
                    del self._wakes[key]
                due.add(key)
            self._metrics.heap_size.set(len(self._heap))
            if due:
                with self._writer.launching():
                    await each_bounded(due, self._concurrency, self._guarded)
                continue
            delay = IDLE_TICK
            if self._heap:
                delay = min(delay, max(0.0, (self._heap[0][0] - now).total_seconds()))
            self._wake.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), timeout=delay)

    async def _guarded(self, key: Key) -> None:
        tracked = self._objects.get(key)
        if tracked is None:
            return
        try:
            await self.reconcile(tracked)
        except Exception:
            self._metrics.reconcile_errors.inc()
            log.exception("reconcile failed", extra=_fields(tracked))
            self.poke(key, self._clock() + timedelta(seconds=5))

    # -- one ScheduledJob --------------------------------------------------------------------

    def _template(self, tracked: Tracked) -> JobTemplateSpec | None:
        assert tracked.spec is not None
        name = tracked.spec.template
        if name in BUILTIN_TEMPLATES and name not in self._builtins:
            self._builtins[name] = builtin_template(name, self._image, builtin_params_schema(name))
        return choose_template(
            self._templates.get((tracked.ref.namespace, name)),
            self._templates.get(("", name)),
            self._builtins.get(name),
        )

    async def reconcile(self, t: Tracked) -> None:
        """Bring one ScheduledJob's runs and status up to date, in numbered steps."""
        now = self._clock()
        # 1. An invalid spec runs nothing; the condition says why.
        if t.spec is None or t.error is not None:
            self._write_status(
                t, compose_status(t, now, invalid=t.error, degraded=self._degraded())
            )
            return
        template = self._template(t)
        # 2. Anchor: creation, the last schedule edit, or the last slot handled.
        digest = schedule_digest(t.spec)
        edited = t.status.schedule_hash not in (None, digest)
        anchor_at = now if edited else t.status.schedule_anchor
        anchor = schedule_anchor(
            created_at=t.created,
            last_schedule_time=t.status.last_schedule_time,
            edited_at=anchor_at,
        )
        state = _PassState(t, anchor_at, digest)
        if template is None:
            self._write_status(
                t,
                compose_status(
                    t,
                    now,
                    missing_template=t.spec.template,
                    degraded=self._degraded(),
                    extra=state.extra(),
                ),
            )
            return
        refused = _refuse_template_use(t, template)
        if refused is not None:
            self._write_status(
                t,
                compose_status(
                    t, now, invalid=refused, degraded=self._degraded(), extra=state.extra()
                ),
            )
            return
        # 3. Run-now and manual retry: each key acts once (acknowledged in status).
        acknowledged = t.status.run_now_keys or []
        if t.run_now_key and t.run_now_key not in acknowledged:
            await self._run_now(t, template, now, t.run_now_key)
            state.acknowledge(t.run_now_key)
        retry_of = t.retry_request
        if retry_of and f"retry:{retry_of}" not in acknowledged:
            await self._retry_by_hand(t, template, now, retry_of)
            state.acknowledge(f"retry:{retry_of}")
        # 4. Retries of failed attempts that are due (event runs keep their event).
        for run, due_at in due_retries(t.jobs.values(), t.spec.retry):
            if due_at > now:
                self.poke(t.key, due_at)
            elif run.request is None:
                await self._launch(t, template, run, now, reason=EventReason.RETRYING)
            elif (stored := t.requests.get(run.request)) is not None:
                retry = launch_of(stored.name, stored.spec, attempt=run.attempt)
                await self._launch(t, template, retry, now, reason=EventReason.RETRYING)
        # 4b. Runs that events asked for, once due.
        await self._launch_requests(t, template, now)
        # 5. The schedule: due slots, catch-up, suspend, maxRuns.
        plan = plan_tick(
            t.spec, t.compiled, uid=t.ref.uid, now=now, anchor=anchor, runs_so_far=state.launched
        )
        state.skipped += plan.skipped
        if plan.skipped and t.spec.suspend:
            self._event(t, EventReason.SKIPPED, f"{plan.skipped} slot(s) skipped: suspended")
        elif plan.skipped:
            self._event(t, EventReason.SKIPPED, f"{plan.skipped} missed slot(s) skipped (catch-up)")
        active = _active_runs(state.running) if plan.launches else []
        for launch in plan.launches:
            await self._apply_overlap(t, template, launch, active=active, state=state, now=now)
        if plan.last_schedule_time is not None:
            state.last_schedule_time = plan.last_schedule_time
        # 6. BufferOne: the queued slot starts when nothing is active.
        released = release_buffered(t.buffered, _active_runs(t.jobs.values()) if t.buffered else [])
        if released is not None:
            t.buffered = None
            await self._launch(t, template, RunRequest(released.slot, released.trigger), now)
        # 7. History limits delete the oldest finished Jobs (the writer announces runs).
        await self._prune(t, state)
        # 8. Status from the Jobs, written once; wake up at the next slot.
        next_run = next_run_time(
            t.spec,
            t.compiled,
            now,
            runs_so_far=state.launched,
            anchor=state.last_schedule_time or anchor,
        )
        self._write_status(
            t,
            compose_status(
                t,
                now,
                summary=summarize_schedule(t.spec.schedule),
                next_run=next_run,
                complete=plan.complete,
                degraded=self._degraded(),
                extra=state.extra(),
            ),
        )
        if plan.wait is not None:
            self.poke(t.key, plan.wait.until)

    async def _launch_requests(self, t: Tracked, template: JobTemplateSpec, now: datetime) -> None:
        """Pending RunRequests whose time has come become runs, launched concurrently (a
        burst of events is one reconcile pass); the earliest later one sets the wake-up.
        Backfilled slots follow the overlap policy (:func:`backfill_releases`)."""
        assert t.spec is not None
        due: list[StoredRequest] = []
        backfills: list[tuple[datetime, StoredRequest]] = []
        later: datetime | None = None
        for stored in t.requests.values():
            if stored.status.phase is not RequestPhase.PENDING:
                continue
            if stored.spec.due_time > now:
                if later is None or stored.spec.due_time < later:
                    later = stored.spec.due_time
            elif stored.spec.kind == "backfill":
                backfills.append((stored.spec.due_time, stored))
            else:
                due.append(stored)
        if later is not None:
            self.poke(t.key, later)
        if backfills:
            in_flight = len(_active_runs(t.jobs.values())) + sum(
                1
                for r in t.requests.values()
                if r.status.phase is RequestPhase.LAUNCHED and r.status.job not in t.jobs
            )
            due += backfill_releases(t.spec.overlap_policy, backfills, in_flight)
        await asyncio.gather(*(self._launch_request(t, template, s, now) for s in due))

    async def _launch_request(
        self, t: Tracked, template: JobTemplateSpec, stored: StoredRequest, now: datetime
    ) -> None:
        """One due request: skipped while suspended, failed when the template refuses its
        params, else launched; its phase is settled in memory before any await."""
        assert t.spec is not None
        if stored.status.phase is not RequestPhase.PENDING:
            return  # the other path (a reconcile pass, or the launch on acceptance) had it
        run = launch_of(stored.name, stored.spec)
        if t.spec.suspend:
            self._settle(t, stored, RequestPhase.SKIPPED, now, "suspended at the due time")
            return
        try:
            validate_params(run_params(t.spec, run), template.params_schema)
        except AlmanacError as exc:
            if stored.spec.trigger:
                self.count_trigger(t, stored.spec.trigger, "failed", f"params refused: {exc}")
            self._settle(t, stored, RequestPhase.FAILED, now, f"params refused: {exc}")
            self._event(
                t, EventReason.TRIGGER_FAILED, f"request {stored.name}: params refused: {exc}"
            )
            return
        job = _job_name(t, run)
        pending = stored.status
        # In flight: no other pass launches it; the API hears "Launched" only once it is.
        stored.status = pending.model_copy(update={"phase": RequestPhase.LAUNCHED})
        try:
            backfill = stored.spec.kind == "backfill"
            reason = EventReason.BACKFILLED if backfill else EventReason.TRIGGERED
            async with self._request_limit:
                created = await self._launch(t, template, run, now, reason=reason)
        except Exception:
            stored.status = pending
            raise  # the reconcile is retried; the request is still pending
        self._settle(t, stored, RequestPhase.LAUNCHED, now, "", job=job)
        if created and stored.spec.trigger:
            self.count_trigger(t, stored.spec.trigger, "launched")

    def _settle(
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

    def _finished(self, t: Tracked, job: JobObservation, outcome: RunOutcome) -> None:
        if self.on_run_finished is not None:
            self.on_run_finished(t, job, outcome)

    async def _apply_overlap(
        self,
        t: Tracked,
        template: JobTemplateSpec,
        launch: Launch,
        *,
        active: list[ActiveRun],
        state: _PassState,
        now: datetime,
    ) -> None:
        assert t.spec is not None
        decision = decide_overlap(t.spec.overlap_policy, launch, active, buffered=t.buffered)
        state.last_schedule_time = launch.slot
        if isinstance(decision, Skip):
            state.skipped += 1
            self._metrics.skipped.labels(reason=decision.reason.value).inc()
            self._event(
                t,
                EventReason.SKIPPED,
                f"slot {_iso(launch.slot)} skipped: {decision.reason.value.replace('_', ' ')}",
            )
            return
        if isinstance(decision, Buffer):
            t.buffered = decision.slot
            self._event(
                t, EventReason.BUFFERED, f"slot {_iso(launch.slot)} waits for the active run"
            )
            return
        for name in decision.replace:
            await self._kube.delete_job(t.ref.namespace, name)
            replaced = t.jobs.get(name)
            if self._recorder and replaced is not None:
                cancelled = replace(replaced, phase=RunPhase.CANCELLED, completion_time=now)
                record = run_record(t.ref, t.spec.template, cancelled, params=t.spec.params)
                self._recorder.record(record)
            self._event(t, EventReason.REPLACED, f"run {name} deleted for slot {_iso(launch.slot)}")
        run = RunRequest(decision.slot, decision.trigger, decision.attempt)
        if await self._launch(t, template, run, now):
            state.launched += 1
            active.append(ActiveRun(job="", slot=run.slot, trigger=run.trigger))

    async def _run_now(
        self, t: Tracked, template: JobTemplateSpec, now: datetime, key: str
    ) -> None:
        selector = f"{LABEL_RUN_NOW_KEY}={run_now_label(key)}"
        if await self._kube.job_names(t.ref.namespace, selector):
            return
        run = RunRequest(now.replace(microsecond=0), TriggerKind.MANUAL, run_now_key=key)
        await self._launch(t, template, run, now, reason=EventReason.RUN_NOW)

    async def _retry_by_hand(
        self, t: Tracked, template: JobTemplateSpec, now: datetime, run: str
    ) -> None:
        """``almanac.dev/retry: <run>``: one more attempt of a finished run's slot."""
        failed = t.jobs.get(run)
        if failed is None or not failed.finished:
            self._event(
                t, EventReason.RETRY_REFUSED, f"run {run} is not a finished run of this job"
            )
            return
        attempt = 1 + max(j.attempt for j in t.jobs.values() if j.slot == failed.slot)
        request = RunRequest(failed.slot, TriggerKind.RETRY, attempt=attempt)
        await self._launch(t, template, request, now, reason=EventReason.RETRYING)

    async def _launch(
        self,
        t: Tracked,
        template: JobTemplateSpec,
        run: RunRequest,
        now: datetime,
        *,
        reason: EventReason = EventReason.LAUNCHED,
    ) -> bool:
        assert t.spec is not None
        body = build_job(
            name=t.ref.name,
            namespace=t.ref.namespace,
            uid=t.ref.uid,
            spec=t.spec,
            run=run,
            template=template,
            extra_env=await self._env_for(t.ref.namespace),
        )
        job = body["metadata"]["name"]
        created = await self._kube.create_job(t.ref.namespace, body)
        fields = _fields(t) | {
            "job": job,
            "slot": _iso(run.slot),
            "trigger": run.trigger.value,
            "attempt": run.attempt,
        }
        if run.event_id is not None:
            fields |= {"event_id": run.event_id, "request": run.request}
        if not created:
            log.info("run already launched", extra=fields)
            return False
        if self._recorder:
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
            )
            self._recorder.record(
                run_record(t.ref, t.spec.template, pending, launched_at=now, params=t.spec.params)
            )
        lag = (self._clock() - run.slot).total_seconds()
        self._metrics.launched.labels(trigger=run.trigger.value).inc()
        self._metrics.lag.observe(max(0.0, lag))
        log.info("run launched", extra=fields | {"lag_seconds": round(lag, 3)})
        if run.request is None or run.attempt > 1:
            # An event's first run is recorded by its Job or RunRequest, and by the
            # trigger's counters (and the match by an EventMatched Event when delayed): one
            # Event per event would double the API writes of an event burst.
            self._event(
                t,
                reason,
                f"run {job} for slot {_iso(run.slot)} ({run.trigger.value}, attempt {run.attempt})",
            )
        return True

    async def _prune(self, t: Tracked, state: _PassState) -> None:
        assert t.spec is not None
        now, window = self._clock(), self._event_record_window
        prunable = (j for j in t.jobs.values() if not _event_record(t, j, now=now, window=window))
        for job in jobs_to_prune(prunable, t.spec.history):
            if self._recorder and not await self._recorder.may_delete(t.ref.uid, job.name):
                # Its final history row is not stored yet: the Job is the record. Make
                # sure it is queued (a previous leader's buffer may have died with it).
                self._writer.touch(t)
                continue
            await self._kube.delete_job(t.ref.namespace, job.name)
            t.jobs.pop(job.name, None)
            if job.phase.value == "Succeeded":
                state.pruned_succeeded += 1
            else:
                state.pruned_failed += 1

    async def _env_for(self, namespace: str) -> Mapping[str, str]:
        """The operator's variables for a run, with its namespace's topic allow-list."""
        if self.namespaces is None:
            return self._run_env
        topics = (await self.namespaces.get(namespace)).topics.text()
        return self._run_env if topics is None else self._run_env | {TOPICS_VARIABLE: topics}

    def post_event(self, t: Tracked, reason: EventReason, message: str) -> None:
        """A Kubernetes Event on the ScheduledJob, posted off the launch path."""
        self._writer.event(t.ref, reason, message)

    _event = post_event

    def _write_status(self, t: Tracked, status: dict[str, Any]) -> None:
        self._count_active(t.key, int(status.get("activeCount") or 0))
        self._writer.status(t, status)

    def _count_active(self, key: Key, count: int) -> None:
        """The active-runs gauge as a running total of each object's last count (summing
        every Job of every object after each tick was O(all runs) on the loop)."""
        self._active_total += count - self._active_counts.pop(key, 0)
        if count:
            self._active_counts[key] = count
        self._metrics.active.set(self._active_total)


class _PassState:
    """Status fields one reconcile pass changes, starting from the last written status."""

    def __init__(self, t: Tracked, anchor_at: datetime | None, digest: str) -> None:
        counts = t.status.counts
        self.t = t
        self.anchor_at = anchor_at
        self.digest = digest
        self.launched = counts.launched if counts else 0
        self.skipped = counts.skipped if counts else 0
        self.pruned_succeeded = counts.pruned_succeeded if counts else 0
        self.pruned_failed = counts.pruned_failed if counts else 0
        self.last_schedule_time = t.status.last_schedule_time
        self.run_now_keys = t.status.run_now_keys
        #: Runs in flight as the pass began: the overlap policies judge slots against them.
        self.running = [j for j in t.jobs.values() if not j.finished]

    def acknowledge(self, key: str) -> None:
        self.run_now_keys = [*(self.run_now_keys or []), key][-20:]

    def extra(self) -> dict[str, Any]:
        return {
            "launched": self.launched,
            "skipped": self.skipped,
            "pruned_succeeded": self.pruned_succeeded,
            "pruned_failed": self.pruned_failed,
            "last_schedule_time": self.last_schedule_time,
            "run_now_keys": self.run_now_keys,
            "schedule_anchor": self.anchor_at,
            "schedule_hash": self.digest,
        }


def _refuse_template_use(t: Tracked, template: JobTemplateSpec) -> AlmanacError | None:
    """Params must satisfy the template's schema, and the template must allow the
    namespace: checked at admission too, and again here because templates change (once
    per spec and template: schema validation was a tenth of a launch burst's CPU)."""
    assert t.spec is not None
    if t.template_check is not None:
        checked_template, checked_spec, verdict = t.template_check
        if checked_template is template and checked_spec is t.spec:
            return verdict
    verdict = _template_refusal(t, template)
    t.template_check = (template, t.spec, verdict)
    return verdict


def _template_refusal(t: Tracked, template: JobTemplateSpec) -> AlmanacError | None:
    assert t.spec is not None
    # Trigger-only: the params are complete only once an event's mapping is merged in, and
    # are checked then (a refused request is Failed with the reason).
    params = t.spec.params if t.spec.schedule is not None else None
    return use_refusal(
        t.spec.template,
        template.allowed_namespaces,
        t.ref.namespace,
        params,
        template.params_schema,
    )


_iso = rfc3339_utc


def _event_record(t: Tracked, job: JobObservation, *, now: datetime, window: timedelta) -> bool:
    """An event run launched without a RunRequest: its Job is the event's dedup record, so
    history limits leave it alone for the window (an event re-read after a crash or a
    rebalance must still meet it)."""
    return (
        job.trigger is TriggerKind.EVENT
        and job.request is not None
        and job.request not in t.requests
        and (job.completion_time is None or now - job.completion_time < window)
    )


def _job_name(t: Tracked, run: RunRequest) -> str:
    return run_name(
        t.ref.name, t.ref.uid, run.slot, trigger=run.trigger, attempt=run.attempt, n=run.n
    )


def _params(t: Tracked) -> Mapping[str, Any] | None:
    return t.spec.params if t.spec else None


def _template_name(t: Tracked) -> str:
    return t.spec.template if t.spec else ""


def _fields(t: Tracked) -> dict[str, Any]:
    return {"scheduledjob": f"{t.ref.namespace}/{t.ref.name}", "uid": t.ref.uid}


def _active_runs(jobs: Iterable[JobObservation]) -> list[ActiveRun]:
    """The unfinished runs as the overlap policies see them (built only when a slot is due
    or one is buffered: a job with many runs in flight reconciles often)."""
    return [
        ActiveRun(job=j.name, slot=j.slot, attempt=j.attempt, trigger=j.trigger)
        for j in jobs
        if not j.finished
    ]
