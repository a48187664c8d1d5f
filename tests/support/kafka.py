"""A Kafka consumer that reads the given topics from their beginning, for assertions."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from typing import Any

from aiokafka import AIOKafkaConsumer

__all__ = ["reading"]


@contextlib.asynccontextmanager
async def reading(bootstrap: str, *topics: str, **client: Any) -> AsyncIterator[AIOKafkaConsumer]:
    """Started on entry, stopped on exit; no offsets committed (tests read, never consume).
    ``client``: more aiokafka arguments (a group, TLS and SASL)."""
    consumer = AIOKafkaConsumer(
        *topics,
        bootstrap_servers=bootstrap,
        auto_offset_reset="earliest",
        enable_auto_commit=False,
        metadata_max_age_ms=1000,
        **client,
    )
    await consumer.start()
    try:
        yield consumer
    finally:
        await consumer.stop()
