"""Event triggers (leader only): Kafka events and finished upstream runs become runs.

Each run an event plans gets a durable record in the API before the event's offset is
committed: its Job, when the run is due now and can start now (one API write per event),
else a RunRequest, which the scheduler watches like Jobs and launches at its due time. The
consumer commits a partition's offsets only after every event read from it has its records
(or a recorded refusal), so a crash re-reads those events; the names derive from the event
identity, so the re-read meets AlreadyExists and no run doubles. A malformed event, a
filter that fails or a mapping the template refuses is counted as ``failed`` on the
trigger with the reason, and the partition moves on: one bad event never stops a topic.

Events carrying the ``almanac-namespace`` header (those the REST facade publishes for an
organisation) reach only ScheduledJobs in that namespace; on the trigger topic
(``ALMANAC_TRIGGER_TOPIC``) an event without it reaches nobody, and Almanac's other topics
(``almanac.*``, notifications) are never read, even for an object admitted before they were
refused (:func:`almanac.core.kafkanames.reaches`).
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import os
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, Final, Literal

from aiokafka import AIOKafkaConsumer, ConsumerRecord, TopicPartition
from aiokafka.structs import OffsetAndMetadata

from almanac.core.durations import parse_duration
from almanac.core.errors import AlmanacError
from almanac.core.kafkanames import DEFAULT_NAMES, KafkaNames, reaches
from almanac.core.naming import LABEL_SCHEDULED_JOB_UID, rfc3339_utc
from almanac.core.runrequests import (
    LABEL_KEY,
    LABEL_TRIGGER_NAME,
    MAX_EVENT_BYTES,
    EventSource,
    RequestPhase,
    RunRequestSpec,
    key_label,
    run_request_body,
    status_patch,
)
from almanac.core.runs import JobObservation
from almanac.core.triggers import (
    NAMESPACE_HEADER,
    CompiledTrigger,
    EventError,
    KafkaMatcher,
    PlannedRun,
    after_event,
    after_matches,
    event_identity,
    event_key,
    matches,
    parse_event,
    plan_runs,
)

from .kube import Kube, RunOutcome
from .logs import log
from .observability import Metrics
from .ordered import OrderedWork
from .recording import parse_result
from .scheduler import EVENT_CONCURRENCY, Scheduler
from .tracked import StoredRequest, Tracked

__all__ = ["TriggerService", "TriggerSettings"]

SWEEP_INTERVAL: Final = 60.0
POLL_MS: Final = 200
BATCH: Final = 500
CONCURRENCY: Final = EVENT_CONCURRENCY  # Job or RunRequest creations in flight
MAX_IN_FLIGHT: Final = 2_000  # records read and not finished, per partition
COMMIT_INTERVAL: Final = 0.5  # seconds between offset commits while events flow
DRAIN_SECONDS: Final = 10.0  # on shutdown, for the records in flight


@dataclass(frozen=True)
class TriggerSettings:
    """``ALMANAC_KAFKA_BOOTSTRAP`` (triggers are off without it), ``ALMANAC_TRIGGER_GROUP``
    (consumer group, default ``almanac-triggers``), ``ALMANAC_RUNREQUEST_RETENTION`` (how
    long settled RunRequests stay: the dedup window of redelivered events, default 15m;
    every RunRequest is an object in etcd, so a busy topic needs a short window), and
    Almanac's own topics (``ALMANAC_TRIGGER_TOPIC``, ``ALMANAC_EVENTS_TOPIC``,
    ``ALMANAC_NOTIFY_TOPIC``; the facade's and the webhook's must match)."""

    bootstrap: str | None = None
    group: str = "almanac-triggers"
    retention: timedelta = timedelta(minutes=15)
    names: KafkaNames = DEFAULT_NAMES

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> TriggerSettings:
        env = os.environ if env is None else env
        retention = env.get("ALMANAC_RUNREQUEST_RETENTION", "").strip() or "15m"
        return cls(
            bootstrap=env.get("ALMANAC_KAFKA_BOOTSTRAP", "").strip() or None,
            group=env.get("ALMANAC_TRIGGER_GROUP", "").strip() or "almanac-triggers",
            retention=parse_duration(retention, "ALMANAC_RUNREQUEST_RETENTION"),
            names=KafkaNames.from_env(env),
        )


@dataclass(frozen=True)
class _Route:
    """One way an event on a topic can matter: start runs of a trigger, or cancel them."""

    key: tuple[str, str]
    trigger: str
    role: Literal["start", "cancel"]
    matcher: KafkaMatcher


@dataclass
class _Outcome:
    """Counters and work one event produced (counted only once the work is done)."""

    counts: list[tuple[tuple[str, str], str, str, str | None]] = field(default_factory=list)
    creates: list[Callable[[], Awaitable[bool]]] = field(default_factory=list)
    cancels: list[Callable[[], Awaitable[None]]] = field(default_factory=list)


class TriggerService:
    def __init__(
        self,
        kube: Kube,
        scheduler: Scheduler,
        metrics: Metrics,
        settings: TriggerSettings,
    ) -> None:
        self._kube = kube
        self._scheduler = scheduler
        self._metrics = metrics
        self.settings = settings
        self._routes: dict[str, list[_Route]] = {}
        self._routes_generation = -1
        self._chained: set[str] = set()
        self._positions: dict[TopicPartition, int] = {}
        self._limit = asyncio.Semaphore(CONCURRENCY)
        self._tasks: set[asyncio.Task[None]] = set()
        scheduler.on_run_finished = self.chain

    async def run(self, stop: asyncio.Event) -> None:
        work = [self._sweep(stop)]
        if self.settings.bootstrap:
            work.append(self._consume(stop, self.settings.bootstrap))
        await asyncio.gather(*work)

    # -- routing -------------------------------------------------------------------------

    def routes(self) -> dict[str, list[_Route]]:
        """Topic → routes, rebuilt when ScheduledJobs changed; Almanac's own topics other
        than the trigger topic are left out (admission refuses them; an object admitted
        before is logged, not served)."""
        if self._routes_generation != self._scheduler.generation:
            routes: dict[str, list[_Route]] = {}
            for t in self._scheduler.objects():
                if t.error is not None:
                    continue
                for trigger in t.triggers:
                    found: list[tuple[KafkaMatcher, Literal["start", "cancel"]]] = []
                    if trigger.source is not None:
                        found.append((trigger.source, "start"))
                    found += [(cancel, "cancel") for cancel in trigger.cancel]
                    for matcher, role in found:
                        if self._readable(t, matcher):
                            route = _Route(t.key, trigger.name, role, matcher)
                            routes.setdefault(matcher.topic, []).append(route)
            self._routes, self._routes_generation = routes, self._scheduler.generation
        return self._routes

    def _readable(self, t: Tracked, matcher: KafkaMatcher) -> bool:
        names = self.settings.names
        if matcher.topic == names.trigger_topic or not names.is_reserved_topic(matcher.topic):
            return True
        log.warning(
            "trigger on a reserved topic not served",
            extra={
                "scheduledjob": f"{t.ref.namespace}/{t.ref.name}",
                "topic": matcher.topic,
                "field": f"{matcher.field}.topic",
            },
        )
        return False

    # -- Kafka ---------------------------------------------------------------------------

    async def _consume(self, stop: asyncio.Event, bootstrap: str) -> None:
        consumer = AIOKafkaConsumer(
            bootstrap_servers=bootstrap,
            group_id=self.settings.group,
            enable_auto_commit=False,
            # A new group reads what is on the topic; events older than the ScheduledJob
            # they would trigger are ignored (see _decide), so history does not replay.
            auto_offset_reset="earliest",
            metadata_max_age_ms=5000,
            max_poll_records=BATCH,
        )
        # Whether an event was accepted before is answered from the Jobs and RunRequests
        # the watches listed: nothing is read before they have.
        synced = asyncio.create_task(self._scheduler.synced.wait())
        stopping = asyncio.create_task(stop.wait())
        await asyncio.wait({synced, stopping}, return_when=asyncio.FIRST_COMPLETED)
        synced.cancel()
        stopping.cancel()
        delay = 1.0
        while not stop.is_set():
            try:
                await consumer.start()
                break
            except Exception as exc:
                log.warning("trigger consumer cannot reach Kafka", extra={"error": str(exc)})
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), delay)
                delay = min(delay * 2, 30.0)
        try:
            await self._poll(stop, consumer)
        finally:
            with contextlib.suppress(Exception):
                await consumer.stop()

    async def _poll(self, stop: asyncio.Event, consumer: AIOKafkaConsumer) -> None:
        subscribed: frozenset[str] = frozenset()
        flights: dict[TopicPartition, OrderedWork] = {}
        committed = time.monotonic()
        try:
            while not stop.is_set():
                topics = frozenset(self.routes())
                if topics != subscribed:
                    if topics:
                        consumer.subscribe(sorted(topics))
                    else:
                        consumer.unsubscribe()
                    subscribed = topics
                    log.info("trigger topics", extra={"topics": sorted(topics)})
                if not subscribed:
                    with contextlib.suppress(TimeoutError):
                        await asyncio.wait_for(stop.wait(), 1.0)
                    continue
                await self._backpressure(flights)
                try:
                    batch = await consumer.getmany(timeout_ms=POLL_MS, max_records=BATCH)
                except Exception as exc:
                    log.warning("trigger poll failed", extra={"error": str(exc)})
                    await asyncio.sleep(1.0)
                    continue
                for tp, records in batch.items():
                    flight = flights.setdefault(tp, OrderedWork())
                    for record in records:
                        outcome = self._decide(record)
                        flight.add(
                            record.offset,
                            functools.partial(self._complete, record, outcome),
                            barrier=bool(outcome.cancels),
                        )
                await self._rewind_failed(consumer, flights)
                if time.monotonic() - committed >= COMMIT_INTERVAL:
                    await self._commit(consumer, flights)
                    committed = time.monotonic()
        finally:
            for flight in flights.values():
                await flight.drain(DRAIN_SECONDS)
            await self._commit(consumer, flights)

    async def _backpressure(self, flights: dict[TopicPartition, OrderedWork]) -> None:
        """Read no more while too many records are in flight (the API server is slow)."""
        for flight in flights.values():
            while len(flight) >= MAX_IN_FLIGHT:
                await flight.wait_any()
                flight.committable()

    async def _rewind_failed(
        self, consumer: AIOKafkaConsumer, flights: dict[TopicPartition, OrderedWork]
    ) -> None:
        """A record whose RunRequests could not be created (API failure): its partition is
        re-read from it after a pause; what ran after it meets AlreadyExists then."""
        for tp, flight in list(flights.items()):
            failure = flight.failed()
            if failure is None:
                continue
            log.warning(
                "trigger events not handled, will retry",
                extra={
                    "topic": tp.topic,
                    "partition": tp.partition,
                    "offset": failure.offset,
                    "error": str(failure.error),
                },
            )
            await flight.abandon()
            del flights[tp]
            consumer.seek(tp, failure.offset)
            await asyncio.sleep(1.0)

    async def _commit(
        self, consumer: AIOKafkaConsumer, flights: dict[TopicPartition, OrderedWork]
    ) -> None:
        """Commit each partition up to its finished prefix (a crash re-reads the rest)."""
        offsets = {}
        for tp, flight in flights.items():
            done = flight.committable()
            if done is not None:
                offsets[tp] = OffsetAndMetadata(done, "")
        self._positions.update({tp: o.offset for tp, o in offsets.items()})
        if offsets:
            try:
                await consumer.commit(offsets)
            except Exception as exc:  # rebalance: the next owner re-reads; dedup holds
                log.warning("trigger offsets not committed", extra={"error": str(exc)})
        self._lag(consumer)

    def _lag(self, consumer: AIOKafkaConsumer) -> None:
        """Events on the assigned partitions not handled yet (the consumer lag metric)."""
        lag = 0
        for tp in consumer.assignment():
            highwater = consumer.highwater(tp)
            position = self._positions.get(tp)
            if highwater is not None and position is not None:
                lag += max(0, highwater - position)
        self._metrics.trigger_lag.set(lag)

    async def _complete(self, record: ConsumerRecord, outcome: _Outcome) -> None:
        """Do what one event decided (cancels first: they run only once every earlier
        record of the partition is done), then count it."""
        for cancel in outcome.cancels:
            await cancel()
        await asyncio.gather(*(self._bounded(create) for create in outcome.creates))
        for key, trigger, what, error in outcome.counts:
            t = self._scheduler.find(*key)
            if t is not None:
                self._scheduler.count_trigger(t, trigger, what, error)
        if outcome.creates and record.timestamp:
            self._metrics.trigger_latency.observe(max(0.0, time.time() - record.timestamp / 1000))

    async def _bounded(self, create: Callable[[], Awaitable[bool]]) -> None:
        async with self._limit:
            with self._scheduler.launching():
                await create()

    def _decide(self, record: ConsumerRecord) -> _Outcome:
        outcome = _Outcome()
        namespaces = _headers(record, NAMESPACE_HEADER)
        produced = datetime.fromtimestamp(record.timestamp / 1000, UTC)
        routes = [
            r
            for r in self.routes().get(record.topic, [])
            if reaches(record.topic, namespaces, r.key[0], self.settings.names)
        ]
        event: dict[str, Any] | None = None
        problem: str | None = None
        try:
            event = parse_event(record.value or b"")
            if len(record.value or b"") > MAX_EVENT_BYTES:
                problem = f"event larger than {MAX_EVENT_BYTES // 1024} KiB"
        except EventError as exc:
            problem = str(exc)
        event_id = event_identity(event or {}, record.topic, record.partition, record.offset)
        for route in routes:
            t = self._scheduler.find(*route.key)
            if t is None or produced < t.created or t.spec is None:
                continue  # gone, or an event from before this ScheduledJob existed
            if route.role == "start":
                outcome.counts.append((route.key, route.trigger, "received", None))
            if problem is not None or event is None:
                if route.role == "start":
                    reason = f"event {event_id} refused: {problem}"
                    outcome.counts.append((route.key, route.trigger, "failed", reason))
                    log.warning(
                        "trigger event refused", extra=_fields(t, event_id) | {"error": problem}
                    )
                continue
            try:
                if not matches(route.matcher, event):
                    continue
                if route.role == "cancel":
                    if (key := event_key(route.matcher, event)) is not None:
                        outcome.cancels.append(
                            functools.partial(self._cancel, t, route.trigger, key, event_id)
                        )
                    continue
                trigger = _trigger(t, route.trigger)
                planned = plan_runs(
                    trigger,
                    scheduled_job=t.ref.name,
                    uid=t.ref.uid,
                    event_id=event_id,
                    event=event,
                    received_at=produced,
                )
            except AlmanacError as exc:
                reason = f"event {event_id}: {exc}"
                outcome.counts.append((route.key, route.trigger, "failed", reason))
                log.warning(
                    "trigger event refused", extra=_fields(t, event_id) | {"error": str(exc)}
                )
                continue
            outcome.counts.append((route.key, route.trigger, "matched", None))
            source = EventSource(
                id=event_id,
                type=str(event.get("type"))[:256] if event.get("type") is not None else None,
                topic=record.topic,
                partition=record.partition,
                offset=record.offset,
            )
            for name, spec in _specs(
                t, trigger=route.trigger, kind="event", planned=planned, source=source, event=event
            ):
                outcome.creates.append(functools.partial(self._store, t, name, spec))
        return outcome

    # -- requests --------------------------------------------------------------------------

    async def _store(self, t: Tracked, name: str, spec: RunRequestSpec) -> bool:
        """Record one planned run: as its Job when it can start now, else as a RunRequest
        handed to the scheduler at once (the watch echo follows). False: the event was
        accepted before (a record in the operator's view, or AlreadyExists)."""
        started = time.monotonic()
        launched = await self._scheduler.launch_event_now(t, name, spec)
        if launched is False:
            log.info("event already accepted", extra=_fields(t, spec.source.id) | {"request": name})
        if launched is not None:
            return launched
        body = run_request_body(
            name=name, namespace=t.ref.namespace, owner=t.ref.name, owner_uid=t.ref.uid, spec=spec
        )
        created = await self._kube.create_run_request(t.ref.namespace, body)
        fields = _fields(t, spec.source.id) | {
            "request": name,
            "due": rfc3339_utc(spec.due_time),
            "took": round(time.monotonic() - started, 3),
        }
        if not created:
            log.info("event already accepted", extra=fields)
            return False
        log.info("event accepted", extra=fields)
        self._scheduler.accepted(body)
        if spec.due_time > datetime.now(UTC) + timedelta(seconds=1):
            self._scheduler.post_event(
                t,
                "EventMatched",
                f"event {spec.source.id} ({spec.trigger}): run due {rfc3339_utc(spec.due_time)}"
                + (f", step {spec.step}" if spec.step else ""),
            )
        return True

    async def _cancel(self, t: Tracked, trigger: str, key: str, event_id: str) -> None:
        """Pending requests of this trigger with this key are cancelled (and say by what)."""
        selector = ",".join(
            [
                f"{LABEL_SCHEDULED_JOB_UID}={t.ref.uid}",
                f"{LABEL_TRIGGER_NAME}={trigger}",
                f"{LABEL_KEY}={key_label(key)}",
            ]
        )
        now = datetime.now(UTC)
        for body in await self._kube.run_requests(t.ref.namespace, selector):
            stored = t.requests.get(body["metadata"]["name"]) or StoredRequest.from_body(body)
            if stored.status.phase is not RequestPhase.PENDING:
                continue
            message = f"cancelled by event {event_id}"
            patch = status_patch(RequestPhase.CANCELLED, now, message=message)
            await self._kube.patch_run_request_status(t.ref.namespace, stored.name, patch)
            stored.status = stored.status.model_validate(patch)
            self._scheduler.count_trigger(t, trigger, "cancelled")
            log.info("run cancelled", extra=_fields(t, event_id) | {"request": stored.name})
            self._scheduler.post_event(
                t, "Cancelled", f"pending run {stored.name} (key {key}) {message}"
            )

    # -- chains ----------------------------------------------------------------------------

    def chain(self, upstream: Tracked, job: JobObservation, outcome: RunOutcome) -> None:
        """A run finished: ScheduledJobs that run ``after`` it get a RunRequest each."""
        if job.name in self._chained or job.completion_time is None:
            return
        if datetime.now(UTC) - job.completion_time > self.settings.retention:
            return  # older than the dedup window: its RunRequests may be gone already
        self._chained.add(job.name)
        for t in self._scheduler.objects():
            if t.ref.namespace != upstream.ref.namespace or t.spec is None or t.error:
                continue
            for trigger in t.triggers:
                if trigger.after is None or trigger.after[0] != upstream.ref.name:
                    continue
                if not after_matches(trigger.after[1], job.phase.value):
                    continue
                task = asyncio.create_task(self._after(t, trigger, upstream, job, outcome))
                self._tasks.add(task)
                task.add_done_callback(self._tasks.discard)

    async def _after(
        self,
        t: Tracked,
        trigger: CompiledTrigger,
        upstream: Tracked,
        job: JobObservation,
        outcome: RunOutcome,
    ) -> None:
        result, _ = parse_result(outcome.message)
        event = after_event(upstream.ref.name, job.name, job.phase.value, result, outcome.exit_code)
        event_id = f"{upstream.ref.uid}/{job.name}"
        try:
            planned = plan_runs(
                trigger,
                scheduled_job=t.ref.name,
                uid=t.ref.uid,
                event_id=event_id,
                event=event,
                received_at=job.completion_time or datetime.now(UTC),
            )
            source = EventSource(id=event_id, type=f"run.{job.phase.value.lower()}")
            created = False
            for name, spec in _specs(
                t, trigger=trigger.name, kind="after", planned=planned, source=source, event=event
            ):
                created = await self._store(t, name, spec) or created
            if created:  # a re-announced run (new leader) is not counted twice
                self._scheduler.count_trigger(t, trigger.name, "received")
                self._scheduler.count_trigger(t, trigger.name, "matched")
        except AlmanacError as exc:
            self._scheduler.count_trigger(t, trigger.name, "failed", f"after {job.name}: {exc}")
        except Exception:
            self._chained.discard(job.name)  # the next announcement retries
            log.exception("after trigger failed", extra=_fields(t, event_id))

    # -- retention -------------------------------------------------------------------------

    async def _sweep(self, stop: asyncio.Event) -> None:
        """Settled RunRequests older than the retention are deleted (Pending ones stay)."""
        while not stop.is_set():
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), SWEEP_INTERVAL)
            cutoff = datetime.now(UTC) - self.settings.retention
            for t in self._scheduler.objects():
                for stored in list(t.requests.values()):
                    settled = stored.status.last_transition_time
                    if stored.status.phase is RequestPhase.PENDING or settled is None:
                        continue
                    if settled < cutoff:
                        try:
                            await self._kube.delete_run_request(t.ref.namespace, stored.name)
                        except Exception as exc:
                            log.warning("RunRequest not deleted", extra={"error": str(exc)})


def _headers(record: ConsumerRecord, name: str) -> list[str]:
    """Every non-empty value of header ``name`` (a record may repeat a header)."""
    return [
        bytes(value).decode("utf-8", "replace")
        for key, value in record.headers or ()
        if key == name and value
    ]


def _specs(
    t: Tracked,
    *,
    trigger: str,
    kind: Literal["event", "after"],
    planned: list[PlannedRun],
    source: EventSource,
    event: dict[str, Any],
) -> list[tuple[str, RunRequestSpec]]:
    """The RunRequests (name, spec) of the runs one event plans for ``t``."""
    return [
        (
            run.name,
            RunRequestSpec(
                scheduled_job=t.ref.name,
                trigger=trigger,
                kind=kind,
                due_time=run.due,
                step=run.step,
                key=run.key,
                params=run.params,
                source=source,
                event=event,
            ),
        )
        for run in planned
    ]


def _trigger(t: Tracked, name: str) -> CompiledTrigger:
    return next(trigger for trigger in t.triggers if trigger.name == name)


def _fields(t: Tracked, event_id: str) -> dict[str, Any]:
    return {
        "scheduledjob": f"{t.ref.namespace}/{t.ref.name}",
        "uid": t.ref.uid,
        "event_id": event_id,
    }
