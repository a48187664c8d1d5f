"""Event triggers (leader only): Kafka events and finished upstream runs become runs.

Each run an event plans is recorded in the API before the event's offset is committed
(:mod:`.triggerconsumer`): as its Job when it is due and can start now, else as a
RunRequest the scheduler launches at its due time. A malformed event, a filter that fails
or a mapping the template refuses is counted ``failed`` on the trigger with the reason,
and the partition moves on. No tenant stalls the rest: expressions run in killable
processes with a deadline each (:mod:`.evaluation`), events and mapped params are
size-capped, and a record the API server refuses for good is counted ``failed`` while
transient API errors are retried in the event's own task (:mod:`.triggererrors`).

Events carrying the ``almanac-namespace`` header (those the REST facade publishes for an
organisation) reach only ScheduledJobs in that namespace; on the trigger topic
(``ALMANAC_TRIGGER_TOPIC``) an event without it reaches nobody, and Almanac's other topics
(``almanac.*``, notifications) are never read, even for an object admitted before they were
refused (:func:`almanac.core.kafkanames.reaches`).
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any, Final

from aiokafka import ConsumerRecord

from almanac.core.errors import AlmanacError
from almanac.core.kafkanames import reaches
from almanac.core.naming import LABEL_SCHEDULED_JOB_UID, rfc3339_utc
from almanac.core.routecheck import Verdict
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
from almanac.core.triggers import (
    NAMESPACE_HEADER,
    EventError,
    assemble_runs,
    event_identity,
    parse_event,
)
from almanac.core.vocabulary import EventReason

from .chains import AfterChains
from .evaluation import Evaluator, EvaluatorPool
from .kube import Kube
from .logs import log
from .observability import Metrics
from .parking import EventParking
from .scheduler import EVENT_CONCURRENCY, Scheduler
from .tracked import StoredRequest, Tracked
from .triggerconsumer import TriggerConsumer, record_time
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
from .triggersettings import TriggerSettings

__all__ = ["TriggerService"]

SWEEP_INTERVAL: Final = 60.0


class TriggerService:
    """Decides and stores the runs of events (:class:`.TriggerConsumer` brings them) and of
    finished upstream runs (:class:`.AfterChains`); deletes settled RunRequests (:meth:`_sweep`)."""

    def __init__(
        self,
        kube: Kube,
        scheduler: Scheduler,
        metrics: Metrics,
        settings: TriggerSettings,
        *,
        evaluator: Evaluator | None = None,
        backoff: Sequence[float] = BACKOFF,
        parking: EventParking | None = None,
    ) -> None:
        self._kube = kube
        self._scheduler = scheduler
        self._metrics = metrics
        self.settings = settings
        self._evaluator = evaluator or EvaluatorPool(
            settings.eval_workers, settings.eval_timeout.total_seconds()
        )
        self._backoff = backoff
        self._parking = parking or EventParking(None)
        self._routes: dict[str, list[Route]] = {}
        self._routes_generation = -1
        self._limit = asyncio.Semaphore(EVENT_CONCURRENCY)  # Job or RunRequest creations
        self.chains = AfterChains(
            scheduler,
            self._evaluator,
            self._store,
            retention=settings.retention,
            backoff=backoff,
        )
        scheduler.on_run_finished = self.chains.chain

    async def run(self, stop: asyncio.Event) -> None:
        """Sweep settled RunRequests and, when Kafka is configured, consume events."""
        work = [self._sweep(stop)]
        if self.settings.bootstrap:
            consumer = TriggerConsumer(
                self.settings.bootstrap,
                self.settings,
                self._metrics,
                topics=self.routes,
                synced=self._scheduler.synced,
                warm=self._evaluator.start,
                decide=self._decide,
                complete=self._complete,
            )
            self._scheduler.events_read_to = consumer.mark.instant
            work.append(consumer.run(stop))
        try:
            await asyncio.gather(*work)
        finally:
            await self._evaluator.aclose()

    # -- events --------------------------------------------------------------------------

    def routes(self) -> dict[str, list[Route]]:
        """Topic → routes, rebuilt when ScheduledJobs changed (:func:`.build_routes`)."""
        if self._routes_generation != self._scheduler.generation:
            self._routes = build_routes(self._scheduler.objects(), self.settings.names)
            self._routes_generation = self._scheduler.generation
        return self._routes

    async def _complete(self, record: ConsumerRecord[Any, Any], outcome: Outcome) -> None:
        """Do what one event decided (cancels first: they run only once every earlier
        record of the partition is done), then count it."""
        for cancel in outcome.cancels:
            await self._cancel(*cancel)
        refused = await asyncio.gather(*(self._bounded(create) for create in outcome.creates))
        parked: list[tuple[Tracked, str]] = []
        for key, trigger, what, error in outcome.counts:
            t = self._scheduler.find(*key)
            if t is not None:
                self._scheduler.count_trigger(t, trigger, what, error)
                if what == "failed":
                    parked.append((t, error or "refused"))
        for create, reason in zip(outcome.creates, refused, strict=True):
            if reason is not None:
                self._scheduler.count_trigger(create.tracked, create.trigger, "failed", reason)
                parked.append((create.tracked, reason))
        if parked:
            position = (record.topic, record.partition, record.offset)
            event_id = outcome.event_id or event_identity({}, *position)
            await self._parking.park(
                parked, event_id=event_id, topic=record.topic, value=record.value or b""
            )
        if outcome.creates and record.timestamp:
            self._metrics.trigger_latency.observe(max(0.0, time.time() - record.timestamp / 1000))

    async def _bounded(self, create: Create) -> str | None:
        """Record one planned run, retrying transient API errors (:func:`.retried`); the
        reason when the API server refused it for good (the event's failure)."""

        async def attempt() -> bool:
            async with self._limit:
                with self._scheduler.launching():
                    return await self._store(
                        create.tracked, create.name, create.spec, sent=create.sent
                    )

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
        produced = record_time(record.timestamp)
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
        outcome.event_id = event_id
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
        produced = record_time(record.timestamp)
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
                next(trigger for trigger in t.triggers if trigger.name == route.trigger),
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
            t,
            trigger=route.trigger,
            kind="event",
            planned=planned,
            source=source,
            event=event,
            sent=produced,
        )

    # -- requests --------------------------------------------------------------------------

    async def _store(
        self, t: Tracked, name: str, spec: RunRequestSpec, *, sent: datetime | None = None
    ) -> bool:
        """Record one planned run: as its Job when it can start now, else as a RunRequest
        handed to the scheduler at once (the watch echo follows). False: the event was
        accepted before (a record in the operator's view, or AlreadyExists)."""
        started = time.monotonic()
        launched = await self._scheduler.launch_event_now(t, name, spec, sent=sent)
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
        selector = (
            f"{LABEL_SCHEDULED_JOB_UID}={t.ref.uid},{LABEL_TRIGGER_NAME}={trigger},"
            f"{LABEL_KEY}={key_label(key)}"
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


def _read_event(raw: bytes) -> tuple[dict[str, Any] | None, str | None]:
    """The event, or why it is refused; the size is checked before anything is parsed."""
    if len(raw) > MAX_EVENT_BYTES:
        return None, f"event of {len(raw):,} bytes is larger than {MAX_EVENT_BYTES // 1024} KiB"
    try:
        return parse_event(raw), None
    except EventError as exc:
        return None, str(exc)
