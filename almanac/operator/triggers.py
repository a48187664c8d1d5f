"""Event triggers (leader only): Kafka events and finished upstream runs become runs.

Each run an event plans gets a durable record in the API before the event's offset is
committed: its Job, when the run is due now and can start now (one API write per event),
else a RunRequest, which the scheduler watches like Jobs and launches at its due time. The
consumer commits a partition's offsets only after every event read from it has its records
(or a recorded refusal), so a crash re-reads those events; the names derive from the event
identity, so the re-read meets AlreadyExists and no run doubles. A malformed event, a
filter that fails or a mapping the template refuses is counted as ``failed`` on the
trigger with the reason, and the partition moves on: one bad event never stops a topic.

No tenant stalls the rest: expressions are evaluated in killable processes with a
deadline each (:mod:`.evaluation`), events and mapped params are size-capped, and a record
the API server refuses for good (quota, a namespace being deleted, 413, 422, ...) is
counted ``failed`` while transient API errors are retried in the event's own task
(:mod:`.triggererrors`); a partition with too many events in flight is paused alone.

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
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Final

from aiokafka import AIOKafkaConsumer, ConsumerRecord, TopicPartition
from aiokafka.structs import OffsetAndMetadata

from almanac.core.durations import parse_duration
from almanac.core.errors import AlmanacError, InvalidInputError
from almanac.core.kafkanames import DEFAULT_NAMES, KafkaNames, reaches
from almanac.core.naming import LABEL_SCHEDULED_JOB_UID, rfc3339_utc
from almanac.core.routecheck import Verdict, check_of
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
    after_event,
    after_matches,
    assemble_runs,
    event_identity,
    parse_event,
)
from almanac.core.vocabulary import EventReason
from almanac.kafkasecurity import PLAINTEXT, KafkaSecurity

from .evaluation import Evaluator, EvaluatorPool
from .kube import Kube, RunOutcome
from .logs import log
from .observability import Metrics
from .ordered import OrderedWork
from .recording import parse_result
from .scheduler import EVENT_CONCURRENCY, Scheduler
from .tracked import StoredRequest, Tracked
from .triggererrors import BACKOFF, retried
from .triggerroutes import (
    Create,
    Outcome,
    Route,
    allowed_routes,
    build_routes,
    fields_of,
    headers_of,
    specs_of,
)

__all__ = ["TriggerService", "TriggerSettings"]

SWEEP_INTERVAL: Final = 60.0
POLL_MS: Final = 200
BATCH: Final = 500
CONCURRENCY: Final = EVENT_CONCURRENCY  # Job or RunRequest creations in flight
MAX_IN_FLIGHT: Final = 2_000  # records read and not finished, per partition
COMMIT_INTERVAL: Final = 0.5  # seconds between offset commits while events flow
DRAIN_SECONDS: Final = 10.0  # on shutdown, for the records in flight
MAX_EVAL_WORKERS: Final = 16


@dataclass(frozen=True)
class TriggerSettings:
    """``ALMANAC_KAFKA_BOOTSTRAP`` (triggers are off without it), ``ALMANAC_TRIGGER_GROUP``
    (consumer group, default ``almanac-triggers``), ``ALMANAC_RUNREQUEST_RETENTION`` (how
    long settled RunRequests stay: the dedup window of redelivered events, default 15m;
    every RunRequest is an object in etcd, so a busy topic needs a short window), and
    Almanac's own topics (``ALMANAC_TRIGGER_TOPIC``, ``ALMANAC_EVENTS_TOPIC``,
    ``ALMANAC_NOTIFY_TOPIC``; the facade's and the webhook's must match).

    ``ALMANAC_TRIGGER_EVAL_TIMEOUT`` (default 100ms: CPU time one route's expressions may
    take on one event before they are stopped and the event counted failed; the filters
    people write take microseconds) and ``ALMANAC_TRIGGER_EVAL_WORKERS`` (default 2, 1-16:
    evaluator processes, about 40 MB each, started with the consumer).

    ``security``: TLS and SASL of the consumer (:mod:`almanac.kafkasecurity`); read here,
    at the operator's start, so a bad setting exits 2 naming the variable."""

    bootstrap: str | None = None
    group: str = "almanac-triggers"
    retention: timedelta = timedelta(minutes=15)
    names: KafkaNames = DEFAULT_NAMES
    eval_timeout: timedelta = timedelta(milliseconds=100)
    eval_workers: int = 2
    security: KafkaSecurity = PLAINTEXT

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> TriggerSettings:
        env = os.environ if env is None else env
        retention = env.get("ALMANAC_RUNREQUEST_RETENTION", "").strip() or "15m"
        timeout = env.get("ALMANAC_TRIGGER_EVAL_TIMEOUT", "").strip() or "100ms"
        return cls(
            bootstrap=env.get("ALMANAC_KAFKA_BOOTSTRAP", "").strip() or None,
            group=env.get("ALMANAC_TRIGGER_GROUP", "").strip() or "almanac-triggers",
            retention=parse_duration(retention, "ALMANAC_RUNREQUEST_RETENTION"),
            names=KafkaNames.from_env(env),
            eval_timeout=parse_duration(timeout, "ALMANAC_TRIGGER_EVAL_TIMEOUT"),
            eval_workers=_workers(env.get("ALMANAC_TRIGGER_EVAL_WORKERS", "").strip() or "2"),
            security=KafkaSecurity.from_env(env),
        )


def _workers(raw: str) -> int:
    if raw.isdigit() and 1 <= int(raw) <= MAX_EVAL_WORKERS:
        return int(raw)
    raise InvalidInputError(
        f"{raw!r} is not a whole number from 1 to {MAX_EVAL_WORKERS}; fix or unset it",
        "ALMANAC_TRIGGER_EVAL_WORKERS",
    )


class TriggerService:
    def __init__(
        self,
        kube: Kube,
        scheduler: Scheduler,
        metrics: Metrics,
        settings: TriggerSettings,
        *,
        evaluator: Evaluator | None = None,
        backoff: Sequence[float] = BACKOFF,
    ) -> None:
        self._kube = kube
        self._scheduler = scheduler
        self._metrics = metrics
        self.settings = settings
        self._evaluator = evaluator or EvaluatorPool(
            settings.eval_workers, settings.eval_timeout.total_seconds()
        )
        self._backoff = backoff
        self._routes: dict[str, list[Route]] = {}
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
        try:
            await asyncio.gather(*work)
        finally:
            await self._evaluator.aclose()

    # -- routing -------------------------------------------------------------------------

    def routes(self) -> dict[str, list[Route]]:
        """Topic → routes, rebuilt when ScheduledJobs changed (:func:`.build_routes`)."""
        if self._routes_generation != self._scheduler.generation:
            self._routes = build_routes(self._scheduler.objects(), self.settings.names)
            self._routes_generation = self._scheduler.generation
        return self._routes

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
            **self.settings.security.client_kwargs(),
        )
        # Whether an event was accepted before is answered from the Jobs and RunRequests
        # the watches listed: nothing is read before they have.
        synced = asyncio.create_task(self._scheduler.synced.wait())
        stopping = asyncio.create_task(stop.wait())
        await asyncio.wait({synced, stopping}, return_when=asyncio.FIRST_COMPLETED)
        synced.cancel()
        stopping.cancel()
        await self._evaluator.start()  # its processes start while Kafka connects
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
                _backpressure(consumer, flights)
                try:
                    batch = await consumer.getmany(timeout_ms=POLL_MS, max_records=BATCH)
                except Exception as exc:
                    log.warning("trigger poll failed", extra={"error": str(exc)})
                    await asyncio.sleep(1.0)
                    continue
                for tp, records in batch.items():
                    flight = flights.setdefault(tp, OrderedWork())
                    for record in records:
                        outcome = await self._decide(record)
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

    async def _rewind_failed(
        self, consumer: AIOKafkaConsumer, flights: dict[TopicPartition, OrderedWork]
    ) -> None:
        """A record whose records could not be created after every transient retry (the
        API server is down): its partition is re-read from it after a pause; what ran
        after it meets AlreadyExists then."""
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
            if tp in consumer.paused():
                consumer.resume(tp)
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

    async def _complete(self, record: ConsumerRecord[Any, Any], outcome: Outcome) -> None:
        """Do what one event decided (cancels first: they run only once every earlier
        record of the partition is done), then count it."""
        for cancel in outcome.cancels:
            await self._cancel(*cancel)
        refused = await asyncio.gather(*(self._bounded(create) for create in outcome.creates))
        for key, trigger, what, error in outcome.counts:
            t = self._scheduler.find(*key)
            if t is not None:
                self._scheduler.count_trigger(t, trigger, what, error)
        for create, reason in zip(outcome.creates, refused, strict=True):
            if reason is not None:
                self._scheduler.count_trigger(create.tracked, create.trigger, "failed", reason)
        if outcome.creates and record.timestamp:
            self._metrics.trigger_latency.observe(max(0.0, time.time() - record.timestamp / 1000))

    async def _bounded(self, create: Create) -> str | None:
        """Record one planned run, retrying transient API errors (:func:`.retried`); the
        reason when the API server refused it for good (the event's failure)."""

        async def attempt() -> bool:
            async with self._limit:
                with self._scheduler.launching():
                    return await self._store(create.tracked, create.name, create.spec)

        fields = fields_of(create.tracked, create.spec.source.id) | {"request": create.name}
        refusal = await retried(attempt, fields=fields, delays=self._backoff)
        if refusal is None:
            return None
        log.warning("trigger record refused", extra=fields | {"error": refusal.reason})
        return f"event {create.spec.source.id}: {refusal.reason}"

    async def _decide(self, record: ConsumerRecord[Any, Any]) -> Outcome:
        """What one record asks for, from the verdicts of every route of its topic."""
        outcome = Outcome()
        namespaces = headers_of(record, NAMESPACE_HEADER)
        produced = datetime.fromtimestamp(record.timestamp / 1000, UTC)
        live: list[tuple[Route, Tracked]] = []
        for route in self.routes().get(record.topic, []):
            if not reaches(record.topic, namespaces, route.key[0], self.settings.names):
                continue
            t = self._scheduler.find(*route.key)
            if t is None or produced < t.created or t.spec is None:
                continue  # gone, or an event from before this ScheduledJob existed
            live.append((route, t))
        live = await allowed_routes(record.topic, live, self._scheduler.namespaces, outcome)
        if not live:
            return outcome
        event, problem = _read_event(record.value or b"")
        event_id = event_identity(event or {}, record.topic, record.partition, record.offset)
        if event is None:
            for route, t in live:
                if route.role == "start":
                    outcome.count(route, "received")
                    outcome.count(route, "failed", f"event {event_id} refused: {problem}")
                    log.warning(
                        "trigger event refused", extra=fields_of(t, event_id) | {"error": problem}
                    )
            return outcome
        verdicts = await self._evaluator.evaluate(event, [route.check for route, _ in live])
        for (route, t), verdict in zip(live, verdicts, strict=True):
            self._apply(outcome, route, t, verdict, record=record, event=event, event_id=event_id)
        return outcome

    def _apply(
        self,
        outcome: Outcome,
        route: Route,
        t: Tracked,
        verdict: Verdict,
        *,
        record: ConsumerRecord[Any, Any],
        event: dict[str, Any],
        event_id: str,
    ) -> None:
        """Turn one route's verdict into counters, a cancel, or the records to create."""
        if route.role == "start":
            outcome.count(route, "received")
        produced = datetime.fromtimestamp(record.timestamp / 1000, UTC)
        try:
            if verdict.failure is not None:
                raise verdict.failure
            if not verdict.matched:
                return
            if route.role == "cancel":
                if verdict.key is not None:
                    outcome.cancels.append((t, route.trigger, verdict.key, event_id))
                return
            planned = assemble_runs(
                _trigger(t, route.trigger),
                key=verdict.key,
                params=verdict.params,
                scheduled_job=t.ref.name,
                uid=t.ref.uid,
                event_id=event_id,
                received_at=produced,
            )
        except AlmanacError as exc:
            outcome.count(route, "failed", f"event {event_id}: {exc}")
            log.warning("trigger event refused", extra=fields_of(t, event_id) | {"error": str(exc)})
            return
        outcome.count(route, "matched")
        source = EventSource(
            id=event_id,
            type=str(event.get("type"))[:256] if event.get("type") is not None else None,
            topic=record.topic,
            partition=record.partition,
            offset=record.offset,
        )
        outcome.creates += specs_of(
            t, trigger=route.trigger, kind="event", planned=planned, source=source, event=event
        )

    # -- requests --------------------------------------------------------------------------

    async def _store(self, t: Tracked, name: str, spec: RunRequestSpec) -> bool:
        """Record one planned run: as its Job when it can start now, else as a RunRequest
        handed to the scheduler at once (the watch echo follows). False: the event was
        accepted before (a record in the operator's view, or AlreadyExists)."""
        started = time.monotonic()
        launched = await self._scheduler.launch_event_now(t, name, spec)
        if launched is False:
            log.info(
                "event already accepted", extra=fields_of(t, spec.source.id) | {"request": name}
            )
        if launched is not None:
            return launched
        body = run_request_body(
            name=name, namespace=t.ref.namespace, owner=t.ref.name, owner_uid=t.ref.uid, spec=spec
        )
        created = await self._kube.create_run_request(t.ref.namespace, body)
        fields = fields_of(t, spec.source.id) | {
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
                EventReason.EVENT_MATCHED,
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
            log.info("run cancelled", extra=fields_of(t, event_id) | {"request": stored.name})
            self._scheduler.post_event(
                t, EventReason.CANCELLED, f"pending run {stored.name} (key {key}) {message}"
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
            (verdict,) = await self._evaluator.evaluate(event, [check_of("after", None, trigger)])
            if verdict.failure is not None:
                raise verdict.failure
            planned = assemble_runs(
                trigger,
                key=None,
                params=verdict.params,
                scheduled_job=t.ref.name,
                uid=t.ref.uid,
                event_id=event_id,
                received_at=job.completion_time or datetime.now(UTC),
            )
            source = EventSource(id=event_id, type=f"run.{job.phase.value.lower()}")
            created = False
            for create in specs_of(
                t, trigger=trigger.name, kind="after", planned=planned, source=source, event=event
            ):
                created = await self._store(t, create.name, create.spec) or created
            if created:  # a re-announced run (new leader) is not counted twice
                self._scheduler.count_trigger(t, trigger.name, "received")
                self._scheduler.count_trigger(t, trigger.name, "matched")
        except AlmanacError as exc:
            self._scheduler.count_trigger(t, trigger.name, "failed", f"after {job.name}: {exc}")
        except Exception:
            self._chained.discard(job.name)  # the next announcement retries
            log.exception("after trigger failed", extra=fields_of(t, event_id))

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


def _backpressure(consumer: AIOKafkaConsumer, flights: dict[TopicPartition, OrderedWork]) -> None:
    """A partition with too many records in flight (its API writes are slow or retrying) is
    paused until commits release them; the loop and the other partitions keep going."""
    paused = consumer.paused()
    for tp, flight in flights.items():
        if len(flight) >= MAX_IN_FLIGHT and tp not in paused:
            consumer.pause(tp)
        elif len(flight) < MAX_IN_FLIGHT and tp in paused:
            consumer.resume(tp)


def _read_event(raw: bytes) -> tuple[dict[str, Any] | None, str | None]:
    """The event, or why it is refused; the size is checked before anything is parsed."""
    if len(raw) > MAX_EVENT_BYTES:
        return None, f"event of {len(raw):,} bytes is larger than {MAX_EVENT_BYTES // 1024} KiB"
    try:
        return parse_event(raw), None
    except EventError as exc:
        return None, str(exc)


def _trigger(t: Tracked, name: str) -> CompiledTrigger:
    return next(trigger for trigger in t.triggers if trigger.name == name)
