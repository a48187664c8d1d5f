"""Publishing to Kafka behind a small protocol, so the relay is testable with a fake.

:class:`KafkaPublisher` uses aiokafka with ``acks="all"`` and the idempotent producer: a
retried send inside the producer never duplicates, and ordering per partition holds. A
duplicate can still follow a relay crash between publish and commit; the stable event id
(also sent as the ``event-id`` header) lets consumers drop it.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from aiokafka import AIOKafkaProducer

from almanac.core.kafkanames import NAMESPACE_HEADER
from almanac.kafkasecurity import PLAINTEXT, KafkaSecurity

__all__ = [
    "KafkaPublisher",
    "Message",
    "NamespacedMessage",
    "Publisher",
    "encode_payload",
]


def encode_payload(payload: dict[str, Any]) -> bytes:
    """Compact, key-sorted JSON: the same payload always yields the same bytes."""
    return json.dumps(payload, separators=(",", ":"), sort_keys=True, default=str).encode()


@dataclass(frozen=True)
class Message:
    """One Kafka record to publish."""

    topic: str
    key: str
    value: bytes
    event_id: str

    @property
    def headers(self) -> list[tuple[str, bytes]]:
        """Kafka headers: the event id, for deduplication without parsing the value."""
        return [("event-id", self.event_id.encode())]


@dataclass(frozen=True)
class NamespacedMessage(Message):
    """A record about one namespace: it also carries the ``almanac-namespace`` header."""

    namespace: str

    @property
    def headers(self) -> list[tuple[str, bytes]]:
        """``event-id`` and ``almanac-namespace``."""
        return [*super().headers, (NAMESPACE_HEADER, self.namespace.encode())]


class Publisher(Protocol):
    """Sends batches of messages; one result per message (``None`` = acknowledged)."""

    async def start(self) -> None:
        """Connect; raise if the brokers cannot be reached."""

    async def publish(self, messages: Sequence[Message]) -> list[BaseException | None]:
        """Send all, wait for the acknowledgements, report each message's outcome."""

    async def stop(self) -> None:
        """Flush and disconnect."""


class KafkaPublisher:
    """aiokafka producer with ``acks=all`` and idempotence.

    Parameters
    ----------
    bootstrap
        ``host:port[,host:port]``.
    request_timeout
        Seconds a send may take before it counts as failed (the relay retries later).
    security
        TLS and SASL (:class:`~almanac.kafkasecurity.KafkaSecurity`); default PLAINTEXT.
    """

    def __init__(
        self, bootstrap: str, *, request_timeout: float = 10.0, security: KafkaSecurity = PLAINTEXT
    ) -> None:
        self.bootstrap = bootstrap
        self.request_timeout = request_timeout
        self.security = security
        self._producer: AIOKafkaProducer | None = None

    async def start(self) -> None:
        producer = AIOKafkaProducer(
            bootstrap_servers=self.bootstrap,
            acks="all",
            enable_idempotence=True,
            request_timeout_ms=int(self.request_timeout * 1000),
            linger_ms=5,
            client_id="almanac-outbox",
            **self.security.client_kwargs(),
        )
        try:
            await producer.start()
        except BaseException:
            await producer.stop()
            raise
        self._producer = producer

    async def publish(self, messages: Sequence[Message]) -> list[BaseException | None]:
        if self._producer is None:
            raise RuntimeError("KafkaPublisher.publish called before start()")
        futures = [
            await self._producer.send(m.topic, value=m.value, key=m.key.encode(), headers=m.headers)
            for m in messages
        ]
        outcomes = await asyncio.gather(*futures, return_exceptions=True)
        return [o if isinstance(o, BaseException) else None for o in outcomes]

    async def stop(self) -> None:
        producer, self._producer = self._producer, None
        if producer is not None:
            await producer.stop()
