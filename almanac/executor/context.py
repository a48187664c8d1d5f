"""The executor's composition root: everything a payload may use, built once in ``main``.

Payloads receive a :class:`PayloadContext` instead of reading the environment or creating
module-level clients, so tests can hand them a fake resolver, an in-memory HTTP transport,
a fake Kafka producer or a temporary secrets directory without patching anything.
"""

from __future__ import annotations

import os
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

from aiokafka import AIOKafkaProducer

from almanac.executor.environment import RunInfo, Settings
from almanac.executor.netguard import Resolver, SystemResolver
from almanac.executor.result import Result
from almanac.executor.secrets import SecretStore
from almanac.kafkasecurity import KafkaSecurity

if TYPE_CHECKING:  # only http/export runs import httpx
    import httpx

__all__ = ["KafkaProducer", "Payload", "PayloadContext", "ProducerFactory"]


class KafkaProducer(Protocol):
    """The part of :class:`aiokafka.AIOKafkaProducer` the ``message`` payload uses."""

    async def start(self) -> None: ...

    async def send_and_wait(
        self,
        topic: str,
        value: bytes | None = None,
        key: bytes | None = None,
        *,
        headers: Sequence[tuple[str, bytes]] | None = None,
    ) -> Any: ...

    async def stop(self) -> None: ...


#: Makes a producer from aiokafka's keyword arguments (``bootstrap_servers``, ``acks`` ...).
ProducerFactory = Callable[..., KafkaProducer]


@dataclass(frozen=True)
class PayloadContext:
    """The run, the process settings, and the I/O seams a payload may use."""

    run: RunInfo
    settings: Settings
    secrets: SecretStore
    resolver: Resolver
    producers: ProducerFactory = AIOKafkaProducer
    #: Transport of ``http``/``export`` clients; ``None`` is httpx's own (real sockets).
    http_transport: httpx.AsyncBaseTransport | None = None
    #: TLS/SASL for the platform's brokers (``ALMANAC_KAFKA_BOOTSTRAP``) only; ``None``:
    #: read from the environment when a run publishes there (:meth:`platform_kafka`).
    kafka_security: KafkaSecurity | None = None

    def platform_kafka(self) -> KafkaSecurity:
        """The platform brokers' security settings; read lazily, so a mistake in them fails
        only a run that publishes to those brokers (naming the variable), no other run."""
        if self.kafka_security is not None:
            return self.kafka_security
        return KafkaSecurity.from_env(os.environ)

    @classmethod
    def create(
        cls,
        run: RunInfo,
        settings: Settings,
        resolver: Resolver | None = None,
        producers: ProducerFactory | None = None,
        http_transport: httpx.AsyncBaseTransport | None = None,
    ) -> PayloadContext:
        return cls(
            run,
            settings,
            SecretStore(settings.secrets_dir),
            resolver or SystemResolver(),
            producers or AIOKafkaProducer,
            http_transport,
        )


class Payload(Protocol):
    """One payload type: validate its params, do the work, return the result.

    Expected failures raise :class:`~almanac.executor.errors.ExecutorError` (or return a
    failed :class:`Result`); anything else is a bug reported as an internal error.
    """

    def __call__(self, params: Mapping[str, Any], ctx: PayloadContext) -> Awaitable[Result]: ...
