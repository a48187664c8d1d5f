"""The Kafka side of the event triggers: read the routed topics, commit only what is done.

Split from :mod:`almanac.operator.triggers` so that the service there keeps to deciding
and storing runs, and this module to driving one ``AIOKafkaConsumer``:

- it subscribes to the topics some trigger route reads, and follows them as ScheduledJobs
  change;
- every record read is decided at once and its work started in its partition's
  :class:`~.ordered.OrderedWork`, so a slow record does not hold the ones after it;
- offsets are committed per partition, only up to the records whose work finished, so a
  crash re-reads the rest (their records' names derive from the event, and the re-read
  meets AlreadyExists: no run doubles);
- a record whose work failed after every transient retry (the API server is down) makes
  its partition re-read from it after a pause;
- a partition with too many records in flight is paused alone until commits release them;
- what is read and not handled yet is published as the consumer lag.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import time
from collections.abc import Awaitable, Callable, Collection
from datetime import UTC, datetime
from typing import Any, Final, TypeAlias

from aiokafka import AIOKafkaConsumer, ConsumerRecord, TopicPartition
from aiokafka.errors import KafkaError
from aiokafka.structs import OffsetAndMetadata

from .logs import log
from .observability import Metrics
from .ordered import OrderedWork
from .readmark import ReadMark
from .triggerroutes import Outcome
from .triggersettings import TriggerSettings

__all__ = ["MAX_IN_FLIGHT", "TriggerConsumer", "record_time"]

POLL_MS: Final = 200
BATCH: Final = 500
MAX_IN_FLIGHT: Final = 2_000  # records read and not finished, per partition
COMMIT_INTERVAL: Final = 0.5  # seconds between offset commits while events flow
DRAIN_SECONDS: Final = 10.0  # on shutdown, for the records in flight
POSITION_WAIT: Final = 0.5  # seconds: a partition whose position is unknown is not at its end
_RETRY_PAUSE: Final = 1.0  # seconds, after a failed poll or before a partition's re-read

Record: TypeAlias = ConsumerRecord[Any, Any]
#: What one record asks for (read-only: nothing is written before it is in a flight).
Decide: TypeAlias = Callable[[Record], Awaitable[Outcome]]
#: Do what a record's outcome asks; raising makes the partition re-read from the record.
Complete: TypeAlias = Callable[[Record, Outcome], Awaitable[None]]
Flights: TypeAlias = dict[TopicPartition, OrderedWork]


class TriggerConsumer:
    """Drives the trigger topics' consumer for a service that decides and does the work.

    ``topics`` answers which topics to read now (asked before every poll). ``synced`` is
    set once the service can tell a redelivered event from a new one (by the Jobs and
    RunRequests its watches listed): nothing is read before; ``warm`` is awaited then,
    before connecting (the evaluator's processes start). ``decide`` and ``complete`` are
    a record's two halves: deciding runs in the poll loop, in record order, and the
    completion in the partition's flight, where a record that cancels runs waits for
    every record before it (a start and its cancel keep their order)."""

    def __init__(
        self,
        bootstrap: str,
        settings: TriggerSettings,
        metrics: Metrics,
        *,
        topics: Callable[[], Collection[str]],
        synced: asyncio.Event,
        warm: Callable[[], Awaitable[None]],
        decide: Decide,
        complete: Complete,
    ) -> None:
        self._bootstrap = bootstrap
        self._settings = settings
        self._metrics = metrics
        self._topics = topics
        self._synced = synced
        self._warm = warm
        self._decide = decide
        self._complete = complete
        self._positions: dict[TopicPartition, int] = {}
        #: How far the events are handled, for event runs that wait on it.
        self.mark: ReadMark[TopicPartition] = ReadMark(lambda: bool(self._topics()))

    async def run(self, stop: asyncio.Event) -> None:
        """Connect (again and again while Kafka is unreachable), then poll until ``stop``."""
        consumer = AIOKafkaConsumer(
            bootstrap_servers=self._bootstrap,
            group_id=self._settings.group,
            enable_auto_commit=False,
            # A new group reads what is on the topic; events older than the ScheduledJob
            # they would trigger are ignored (see TriggerService._decide), so history does
            # not replay.
            auto_offset_reset="earliest",
            metadata_max_age_ms=5000,
            max_poll_records=BATCH,
            **self._settings.security.client_kwargs(),
        )
        # Whether an event was accepted before is answered from the Jobs and RunRequests
        # the watches listed: nothing is read before they have.
        synced = asyncio.create_task(self._synced.wait())
        stopping = asyncio.create_task(stop.wait())
        await asyncio.wait({synced, stopping}, return_when=asyncio.FIRST_COMPLETED)
        synced.cancel()
        stopping.cancel()
        await self._warm()  # the evaluator's processes start while Kafka connects
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
        """The loop: follow the topics, read a batch, start its records, rewind a failed
        partition, commit now and then; on the way out, let the flights finish and commit."""
        subscribed: frozenset[str] = frozenset()
        flights: Flights = {}
        committed = time.monotonic()
        try:
            while not stop.is_set():
                topics = frozenset(self._topics())
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
                    await asyncio.sleep(_RETRY_PAUSE)
                    continue
                self.mark.assigned(consumer.assignment())
                for tp, records in batch.items():
                    flight = flights.setdefault(tp, OrderedWork())
                    for record in records:
                        self.mark.read(tp, record.offset, record_time(record.timestamp))
                        outcome = await self._decide(record)
                        flight.add(
                            record.offset,
                            functools.partial(self._complete, record, outcome),
                            barrier=bool(outcome.cancels),
                        )
                await self._rewind_failed(consumer, flights)
                await self._mark_handled(consumer, flights)
                if time.monotonic() - committed >= COMMIT_INTERVAL:
                    await self._commit(consumer, flights)
                    committed = time.monotonic()
        finally:
            for flight in flights.values():
                await flight.drain(DRAIN_SECONDS)
            await self._commit(consumer, flights)

    async def _mark_handled(self, consumer: AIOKafkaConsumer, flights: Flights) -> None:
        """Tell the read mark which records are handled and which partitions are read to
        their end (as of the fetch that said so) with nothing in flight."""
        for tp in consumer.assignment():
            flight = flights.get(tp)
            before = flight.first_unfinished() if flight is not None else None
            end_as_of = await _read_to_end(consumer, tp) if before is None else None
            self.mark.handled(tp, before, end_as_of=end_as_of)

    async def _rewind_failed(self, consumer: AIOKafkaConsumer, flights: Flights) -> None:
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
            await asyncio.sleep(_RETRY_PAUSE)

    async def _commit(self, consumer: AIOKafkaConsumer, flights: Flights) -> None:
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


def record_time(timestamp_ms: int) -> datetime:
    """A Kafka timestamp in ms (a record's send time, as the producer stamped it; a fetch's
    time) as an instant."""
    return datetime.fromtimestamp(timestamp_ms / 1000, UTC)


async def _read_to_end(consumer: AIOKafkaConsumer, tp: TopicPartition) -> datetime | None:
    """When the partition was last seen read to its end: the consumer's position is at the
    high-water mark of the latest fetch, as of that fetch (``None``: not at its end, or the
    position is unknown while the partition is being reset or reassigned)."""
    highwater = consumer.highwater(tp)
    fetched = consumer.last_poll_timestamp(tp)
    if highwater is None or fetched is None:
        return None
    try:
        position = await asyncio.wait_for(consumer.position(tp), POSITION_WAIT)
    except (TimeoutError, KafkaError):
        return None
    return record_time(fetched) if position >= highwater else None


def _backpressure(consumer: AIOKafkaConsumer, flights: Flights) -> None:
    """A partition with too many records in flight (its API writes are slow or retrying) is
    paused until commits release them; the loop and the other partitions keep going."""
    paused = consumer.paused()
    for tp, flight in flights.items():
        if len(flight) >= MAX_IN_FLIGHT and tp not in paused:
            consumer.pause(tp)
        elif len(flight) < MAX_IN_FLIGHT and tp in paused:
            consumer.resume(tp)
