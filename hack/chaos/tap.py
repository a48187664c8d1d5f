"""The chaos suite's Kafka tap: the run lifecycle events (``almanac.run.*``) of the suite's
namespace, read from the events topic from its start with a client of its own (no group, nothing
committed), so what the operator announced is counted from what Kafka holds."""

from __future__ import annotations

import asyncio
import contextlib
import json
from typing import Final

from aiokafka import AIOKafkaConsumer

from almanac.core.kafkanames import DEFAULT_NAMES

__all__ = ["KafkaTap"]

_RUN_EVENT: Final = "almanac.run."


class KafkaTap:
    """``types``: run name to the lifecycle event types read for it; ``copies``: records
    read more than once (the outbox delivers at least once; the ids make them one)."""

    def __init__(self, bootstrap: str, namespace: str) -> None:
        self._bootstrap = bootstrap
        self._namespace = namespace
        self.types: dict[str, set[str]] = {}
        self.copies = 0
        self._ids: set[str] = set()

    async def run(self) -> None:
        """Read until cancelled; the client reconnects by itself while Kafka is down."""
        consumer = AIOKafkaConsumer(
            DEFAULT_NAMES.events_topic,
            bootstrap_servers=self._bootstrap,
            auto_offset_reset="earliest",
            enable_auto_commit=False,
            metadata_max_age_ms=1000,
        )
        await consumer.start()
        try:
            async for record in consumer:
                self._take(record.value)
        finally:
            with contextlib.suppress(Exception):
                await asyncio.shield(consumer.stop())

    def _take(self, value: bytes | None) -> None:
        try:
            event = json.loads(value or b"")
        except ValueError:
            return
        data = event.get("data") if isinstance(event, dict) else None
        if not isinstance(data, dict) or data.get("namespace") != self._namespace:
            return
        kind = str(event.get("type", ""))
        if not kind.startswith(_RUN_EVENT):
            return
        if event.get("id") in self._ids:
            self.copies += 1
            return
        self._ids.add(str(event.get("id")))
        self.types.setdefault(str(data.get("run_id")), set()).add(kind)
