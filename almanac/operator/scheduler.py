"""The scheduler: one asyncio task that feeds each due ScheduledJob's snapshot to the pure
:func:`~almanac.core.reconcile.reconcile` and carries out the actions it returns.

The pieces: the :class:`~.registry.Registry` (what the watches delivered), the
:class:`~.wakeups.WakeQueue` (when each object wants a pass), the
:class:`~.launcher.Launcher` (the only Job-create path) and the
:class:`~.writer.BackgroundWriter` (status, Events and RunRequest phases, off the launch
path). Every decision comes from ``almanac.core`` with ``now`` passed in; this module only
moves data between them and the API server.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Callable, Mapping, Sequence
from contextlib import AbstractContextManager
from datetime import UTC, datetime, timedelta
from typing import Any

from almanac.core.actions import (
    Action,
    AskRun,
    CountSkip,
    CountTrigger,
    CreateJob,
    DeleteJob,
    KeepJob,
    LaunchRequest,
    Notify,
    PostEvent,
    SettleRequest,
    SuspendJob,
)
from almanac.core.reconcile import reconcile
from almanac.core.runrequests import RequestPhase
from almanac.core.runs import JobObservation
from almanac.core.snapshot import EVENT_RECORD_WINDOW, Snapshot
from almanac.core.templates import JobTemplateSpec
from almanac.core.vocabulary import EventReason

from .announcer import JobAnnouncer
from .bounded import each_bounded
from .eventruns import EventRuns
from .jobmetrics import facts_from_status
from .kube import Kube, RunOutcome
from .launcher import EVENT_CONCURRENCY, Launcher, fields_of
from .launchqueue import LaunchQueue, QueueSetup
from .leader import Fence, NotLeaderError, always
from .logs import log
from .namespacecache import NamespaceCache
from .observability import Metrics
from .passrecords import held_for_history, record_skips
from .recording import RunRecorder, SkipRowBudget, run_record
from .registry import Registry
from .tracked import Tracked
from .wakeups import IDLE_TICK, Key, WakeQueue
from .writer import BackgroundWriter

__all__ = ["EVENT_CONCURRENCY", "Scheduler"]

#: How long a failed pass waits before it is tried again.
RETRY_PASS = timedelta(seconds=5)


class Scheduler:
    def __init__(
        self,
        kube: Kube,
        metrics: Metrics,
        *,
        image: str,
        pull_secrets: Sequence[str] = (),
        concurrency: int = 32,
        request_concurrency: int = EVENT_CONCURRENCY,
        run_env: Mapping[str, str] | None = None,
        recorder: RunRecorder | None = None,
        event_record_window: timedelta = EVENT_RECORD_WINDOW,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
        namespaces: NamespaceCache | None = None,
        fence: Fence = always,
        queue: QueueSetup | None = None,
    ) -> None:
        self._kube = kube
        self._metrics = metrics
        self._clock = clock
        self._recorder = recorder
        self._skip_rows = SkipRowBudget()
        self._concurrency = concurrency
        self._event_record_window = event_record_window
        #: How far the trigger consumer has handled its events (set by the trigger
        #: service when it consumes; ``None``: no consumer, nothing waits for one).
        self.events_read_to: Callable[[], datetime | None] = lambda: None
        self.wakeups = WakeQueue(clock)
        self.registry = Registry(
            metrics,
            self.wakeups,
            image=image,
            pull_secrets=pull_secrets,
            clock=clock,
            recorder=recorder,
        )
        self._writer = BackgroundWriter(
            kube,
            metrics,
            started=clock(),
            recorder=recorder,
            on_finished=self._finished,
            fence=fence,
        )
        #: The launch limits: counts, the launcher's check, releases (:mod:`.dispatch`).
        self.queue = LaunchQueue(
            queue,
            metrics.queue,
            self.registry,
            post_event=self.post_event,
            clock=clock,
            namespaces=namespaces,
            recorder=recorder,
            fence=fence,
        )
        self.launcher = Launcher(
            kube,
            metrics,
            self._writer,
            clock=clock,
            count_trigger=self.count_trigger,
            run_env=run_env,
            recorder=recorder,
            namespaces=namespaces,
            request_concurrency=request_concurrency,
            fence=fence,
            gate=self.queue.gate,
        )
        self.events = EventRuns(self, clock=clock)
        #: ScheduledJob lifecycle events (``None``: no history, so no outbox to write to).
        self.announcer = (
            None
            if recorder is None
            else JobAnnouncer(
                recorder.buffer, recorder.notify, orgs=self._org_label, clock=clock, fence=fence
            )
        )
        if recorder is not None and namespaces is not None:
            # Run notices name the namespace's labelled organisation as launches read it.
            recorder.org_of = namespaces.org_of
        #: Where a pass's Notify actions go (the leader's notifier, :mod:`.notifier`).
        self.notify: Callable[[Tracked, Notify], None] = lambda _t, _action: None
        #: Called once per finished run this process announces (``after`` triggers).
        self.on_run_finished: Callable[[Tracked, JobObservation, RunOutcome], None] | None = None
        #: activeCount of each object's latest status, and their sum (the gauge).
        self._active_counts: dict[Key, int] = {}
        self._active_total = 0
        self.last_tick = time.monotonic()
        # The watch feeds, called from the watch tasks; they never block.
        self.upsert = self.registry.upsert
        self.request_event = self.registry.request_event
        self.job_event = self.registry.job_event
        self.listed = self.registry.listed
        self.template_event = self.registry.template_event
        self.already_accepted = self.registry.already_accepted
        self.accepted = self.events.accepted
        self.launch_event_now = self.events.launch_event_now
        self.poke = self.wakeups.poke

    # -- what the trigger consumer and the handlers use ----------------------------------

    @property
    def namespaces(self) -> NamespaceCache | None:
        """Namespaces' topic allow-lists, handed to each run (``None``: no lists)."""
        return self.launcher.namespaces

    @namespaces.setter
    def namespaces(self, cache: NamespaceCache | None) -> None:
        self.launcher.namespaces = cache

    @property
    def generation(self) -> int:
        """Bumped whenever the set of ScheduledJobs or their triggers may have changed."""
        return self.registry.generation

    @property
    def synced(self) -> asyncio.Event:
        return self.registry.synced

    def forget(self, namespace: str, name: str) -> None:
        self.registry.forget(namespace, name)
        self._count_active((namespace, name), 0)
        self._metrics.jobs.forget((namespace, name))

    def scheduledjob_event(self, body: dict[str, Any], deleted: bool) -> None:
        """A ScheduledJob as its watch delivers it: into the registry, and its lifecycle
        change (if any) announced."""
        if deleted:
            self.forget(body["metadata"]["namespace"], body["metadata"]["name"])
        else:
            self.registry.upsert(body)
        if self.announcer is not None:
            self.announcer.observe(body, deleted)

    async def _org_label(self, namespace: str) -> str | None:
        """A namespace's ``almanac.dev/org-id`` label, through the launches' cache."""
        cache = self.namespaces
        return None if cache is None else (await cache.get(namespace)).org_id

    def objects(self) -> list[Tracked]:
        return list(self.registry.objects.values())

    def find(self, namespace: str, name: str) -> Tracked | None:
        return self.registry.objects.get((namespace, name))

    def count_trigger(
        self, t: Tracked, trigger: str, outcome: str, error: str | None = None
    ) -> None:
        """One trigger outcome: into status (next write) and the metric."""
        t.count(trigger, outcome, error)
        self._metrics.trigger_events.labels(t.ref.namespace, t.ref.name, trigger, outcome).inc()
        self.wakeups.observed(t.key)

    def post_event(self, t: Tracked, reason: EventReason, message: str) -> None:
        """A Kubernetes Event on the ScheduledJob, posted off the launch path."""
        self._writer.event(t.ref, reason, message)

    async def launches_done(self) -> None:
        """Return once no launch burst is in progress (Job events wait for it)."""
        await self._writer.launches_done()

    def launching(self) -> AbstractContextManager[None]:
        """Mark a launch in progress (an event's RunRequest and Job too): background
        writes, Job events and history rows yield to it, for a few seconds at most."""
        return self._writer.launching()

    def poke_all(self) -> None:
        """Reconcile every ScheduledJob soon (e.g. history health changed: conditions follow)."""
        for key in self.registry.objects:
            self.wakeups.poke(key)

    def _finished(self, t: Tracked, job: JobObservation, outcome: RunOutcome) -> None:
        if self.on_run_finished is not None:
            self.on_run_finished(t, job, outcome)

    # -- the loop --------------------------------------------------------------------------

    async def run(self) -> None:
        writing = asyncio.create_task(self._writer.run())
        announcing = asyncio.create_task(self.announcer.run()) if self.announcer else None
        queueing: asyncio.Task[None] | None = None
        try:
            # No pass before every watch has listed (registry.WATCHED): a pass that saw no
            # Jobs would launch a Forbid job's slot beside its running one. The loop counts
            # as alive meanwhile (a long first list is not a hung scheduler).
            while not self.registry.synced.is_set():
                self.last_tick = time.monotonic()
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self.registry.synced.wait(), IDLE_TICK)
            queueing = await self.queue.start()  # the counts' organisations, then releases
            await self._tick_forever()
        finally:
            writing.cancel()
            if queueing is not None:
                queueing.cancel()
            if announcing is not None:
                announcing.cancel()

    async def _tick_forever(self) -> None:
        while True:
            self.last_tick = time.monotonic()
            now = self._clock()
            due = self.wakeups.pop_due(now)
            self._metrics.heap_size.set(len(self.wakeups))
            if due:
                with self._writer.launching():
                    await each_bounded(due, self._concurrency, self._guarded)
                continue
            await self.wakeups.sleep(now)

    async def _guarded(self, key: Key) -> None:
        tracked = self.registry.objects.get(key)
        if tracked is None:
            return
        try:
            await self.reconcile(tracked)
        except NotLeaderError as refused:
            # The fence at work (a leader that may have been deposed), not a fault of this
            # job: one line, no traceback; the process exits once the Lease is judged lost.
            log.warning("pass refused", extra=fields_of(tracked) | {"error": str(refused)})
            self.pass_failed(tracked)
        except Exception:
            log.exception("reconcile failed", extra=fields_of(tracked))
            self.pass_failed(tracked)

    def pass_failed(self, t: Tracked) -> None:
        """A pass (or a launch on acceptance) failed: counted, and tried again soon."""
        self._metrics.reconcile_errors.inc()
        self.wakeups.poke(t.key, self._clock() + RETRY_PASS)

    # -- one ScheduledJob --------------------------------------------------------------------

    def snapshot(self, t: Tracked, held: frozenset[str] = frozenset()) -> Snapshot:
        """``t`` as the pure reconcile reads it, with its template and that one's verdict."""
        template = self.registry.template(t) if t.spec is not None else None
        return t.snapshot(
            template=template,
            held=held,
            degraded=self._recorder.problem if self._recorder else None,
            event_record_window=self._event_record_window,
            events_read_to=self.events_read_to(),
        )

    async def reconcile(self, t: Tracked) -> None:
        """One pass: snapshot, decide (pure), carry out, write the status, plan a wake-up."""
        now = self._clock()
        snapshot = self.snapshot(t)
        held = await held_for_history(self._recorder, self._writer, t, snapshot, now)
        if held:
            snapshot = self.snapshot(t, held)
        result = reconcile(snapshot, now)
        if snapshot.template is not None:
            await self.carry_out(t, snapshot.template, result.actions, now)
        t.buffered = result.buffered
        self._count_active(t.key, int(result.status.get("activeCount") or 0))
        status = result.status
        self._metrics.jobs.observe(
            t.key,
            facts_from_status(
                t.jobs.values(),
                status,
                self._metrics.jobs.interval(t.key, t.compiled, now),
                suspended=bool(t.spec and t.spec.suspend),
            ),
        )
        self._writer.status(t, result.status)
        if result.wake is not None:
            self.wakeups.poke(t.key, result.wake)

    async def carry_out(
        self, t: Tracked, template: JobTemplateSpec, actions: tuple[Action, ...], now: datetime
    ) -> None:
        """Execute a pass's actions in order; consecutive RunRequest launches run
        concurrently (a burst of events is one pass), everything else one at a time."""
        batch: list[LaunchRequest] = []

        async def flush() -> None:
            launches = [self.launcher.launch_request(t, template, a, now) for a in batch]
            batch.clear()
            await asyncio.gather(*launches)

        for action in actions:
            match action:
                case LaunchRequest():
                    batch.append(action)
                case CreateJob(run=run, reason=reason):
                    await flush()
                    await self.launcher.launch(t, template, run, now, reason=reason)
                case DeleteJob():
                    await flush()
                    await self._delete(t, action)
                case KeepJob():
                    self._writer.touch(t)  # its history row is queued again
                case SettleRequest(request=name, phase=phase, message=message):
                    stored = t.requests.get(name)
                    if stored is not None and stored.status.phase is RequestPhase.PENDING:
                        self.launcher.settle(t, stored, phase, now, message)
                case PostEvent(reason=reason, message=message):
                    self._writer.event(t.ref, reason, message)
                case SuspendJob(reason=reason, counted_to=counted_to):
                    self._writer.suspend(t, reason, counted_to)
                case CountTrigger(trigger=trigger, outcome=outcome, error=error):
                    self.count_trigger(t, trigger, outcome, error)
                case CountSkip(reason=reason, count=count):
                    self._metrics.skipped.labels(reason=reason.value).inc(count)
                    record_skips(self._recorder, self._skip_rows, t, action, now)
                case AskRun(request=name, spec=spec):
                    await self.launcher.ask(t, name, spec)
                case Notify():
                    self.notify(t, action)
        await flush()

    async def _delete(self, t: Tracked, action: DeleteJob) -> None:
        await self._kube.delete_job(t.ref.namespace, action.job)
        if action.cancelled is not None and self._recorder and t.spec is not None:
            record = run_record(t.ref, t.spec.template, action.cancelled, params=t.spec.params)
            self._recorder.record(record)
        if action.pruned:
            t.jobs.pop(action.job, None)

    def _count_active(self, key: Key, count: int) -> None:
        """The active-runs gauge as a running total of each object's last count (summing
        every Job of every object after each tick was O(all runs) on the loop)."""
        self._active_total += count - self._active_counts.pop(key, 0)
        if count:
            self._active_counts[key] = count
        self._metrics.active.set(self._active_total)
