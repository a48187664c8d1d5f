"""Trigger events for callers without a Kafka client (``POST /events``, the seed's
``triggerEvent``): one Kafka record per event on ``ALMANAC_TRIGGER_TOPIC``.

Org isolation rests on the ``almanac-namespace`` header: the operator routes a header-carrying
event only to ScheduledJobs of that namespace, and the facade sets it from the verified
identity alone, so one organisation cannot trigger another's jobs.

Sending reuses :class:`almanac.notify.publisher.KafkaPublisher` (``acks=all``, idempotent)
through its ``Publisher`` protocol. The producer starts with the first event, not with the
process, so a facade whose Kafka is down starts and serves every other route; each event is
bounded by :data:`PUBLISH_TIMEOUT` and refused with a 503 the caller can retry with the same id.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Final

from aiokafka.errors import KafkaError
from prometheus_client import Counter

from almanac.api.errors import PayloadTooLargeError, UpstreamError
from almanac.api.schemas import EventInput
from almanac.api.settings import BOOTSTRAP_VARIABLE, ApiSettings
from almanac.core.events import NAMESPACE_HEADER
from almanac.core.naming import rfc3339_utc
from almanac.core.runrequests import MAX_EVENT_BYTES as RUN_EVENT_LIMIT
from almanac.kafkasecurity import KafkaSecurity
from almanac.notify.publisher import (
    KafkaPublisher,
    NamespacedMessage,
    Publisher,
    encode_payload,
)

__all__ = [
    "MAX_EVENT_BYTES",
    "NAMESPACE_HEADER",
    "PUBLISH_TIMEOUT",
    "SOURCE",
    "TriggerPublisher",
    "trigger_message",
]

log = logging.getLogger("almanac.api")

SOURCE: Final = "almanac-api"
#: Seconds one event may take, producer start included: a caller hears back within 10 s.
PUBLISH_TIMEOUT: Final = 8.0
#: Largest request body ``POST /events`` reads, and largest record it publishes: the
#: operator carries an event in its RunRequest and the run's environment, up to this size.
MAX_EVENT_BYTES: Final = RUN_EVENT_LIMIT


def _now() -> datetime:
    return datetime.now(UTC)


def trigger_message(
    event: EventInput,
    *,
    event_id: str,
    topic: str,
    namespace: str,
    org_id: str,
    now: datetime,
) -> NamespacedMessage:
    """The record of ``event``: keyed by its ``key`` (else its id) so one key keeps its order."""
    value = {
        "id": event_id,
        "type": event.type,
        "data": event.data,
        "time": rfc3339_utc(now),
        "source": SOURCE,
        "namespace": namespace,
        "orgId": org_id,
    }
    return NamespacedMessage(
        topic=topic,
        key=event.key or event_id,
        value=encode_payload(value),
        event_id=event_id,
        namespace=namespace,
    )


def _not_published(event_id: str, why: str) -> UpstreamError:
    return UpstreamError(
        f"event {event_id!r} was not published: {why}; retry with the same id "
        f"({event_id!r}), which triggers a job at most once",
        "",
    )


class TriggerPublisher:
    """Publishes one event per call and waits for the broker's acknowledgement.

    Parameters
    ----------
    publisher
        The producer, or ``None`` when ``ALMANAC_KAFKA_BOOTSTRAP`` is unset: every event is
        then a 503 naming the variable, and the other routes work as before.
    topic
        ``ALMANAC_TRIGGER_TOPIC``.
    outcomes
        Counter labelled ``published`` / ``failed``.
    timeout
        Seconds one event may take, including the producer's start.
    """

    def __init__(
        self,
        publisher: Publisher | None,
        topic: str,
        *,
        outcomes: Counter | None = None,
        timeout: float = PUBLISH_TIMEOUT,
        clock: Callable[[], datetime] = _now,
    ) -> None:
        self.topic = topic
        self.timeout = timeout
        self.clock = clock
        self._publisher = publisher
        self._outcomes = outcomes
        self._started = False
        self._lock = asyncio.Lock()

    @classmethod
    def from_settings(cls, settings: ApiSettings, outcomes: Counter | None) -> TriggerPublisher:
        """A publisher for the configured bootstrap; nothing connects before the first event."""
        publisher = (
            KafkaPublisher(
                settings.kafka_bootstrap,
                request_timeout=PUBLISH_TIMEOUT,
                security=KafkaSecurity.from_env(),
            )
            if settings.kafka_bootstrap
            else None
        )
        return cls(publisher, settings.trigger_topic, outcomes=outcomes)

    async def trigger(self, event: EventInput, *, namespace: str, org_id: str) -> NamespacedMessage:
        """Publish ``event`` for ``namespace``; :class:`UpstreamError` when not acknowledged."""
        message = trigger_message(
            event,
            event_id=event.id or str(uuid.uuid4()),
            topic=self.topic,
            namespace=namespace,
            org_id=org_id,
            now=self.clock(),
        )
        if len(message.value) > MAX_EVENT_BYTES:
            raise PayloadTooLargeError(
                f"the event is {len(message.value) // 1024} KiB as published (non-ASCII text "
                f"counts up to 6 bytes a character); runs carry events up to "
                f"{MAX_EVENT_BYTES // 1024} KiB: send less data, or a reference to it",
                "data",
            )
        try:
            await self._send(message)
        except UpstreamError:
            self._count("failed")
            raise
        self._count("published")
        return message

    async def aclose(self) -> None:
        """Stop the producer if it ever started (bounded: shutdown must not hang on Kafka)."""
        if not self._started or self._publisher is None:
            return
        self._started = False
        try:
            async with asyncio.timeout(self.timeout):
                await self._publisher.stop()
        except (KafkaError, OSError):
            log.warning("kafka producer did not stop cleanly", exc_info=True)

    def _count(self, outcome: str) -> None:
        if self._outcomes is not None:
            self._outcomes.labels(outcome).inc()

    async def _deliver(
        self, publisher: Publisher, message: NamespacedMessage
    ) -> BaseException | None:
        async with self._lock:  # one start at a time; a failed start is retried next event
            if not self._started:
                await publisher.start()
                self._started = True
        [outcome] = await publisher.publish([message])
        return outcome

    async def _send(self, message: NamespacedMessage) -> None:
        if self._publisher is None:
            raise _not_published(
                message.event_id,
                f"the facade has no Kafka (set {BOOTSTRAP_VARIABLE} to host:port[,host:port])",
            )
        outcome: BaseException | None
        try:
            async with asyncio.timeout(self.timeout):
                outcome = await self._deliver(self._publisher, message)
        except (KafkaError, OSError) as exc:  # OSError includes the deadline's TimeoutError
            outcome = exc
        if outcome is None:
            return
        log.warning(
            "event not published",
            extra={
                "event_id": message.event_id,
                "namespace": message.namespace,
                "topic": message.topic,
                "error": repr(outcome),
            },
        )
        why = (
            f"Kafka did not acknowledge it within {self.timeout:g}s"
            if isinstance(outcome, TimeoutError)
            else "Kafka is unavailable"
        )
        raise _not_published(message.event_id, why)
