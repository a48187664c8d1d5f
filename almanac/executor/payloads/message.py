"""``message`` payload: publish one record to Kafka and wait for the brokers' ack.

Params (camelCase)::

    topic: reports.daily          (required; not one of Almanac's own, see below)
    key: "customer-42"            (optional; same key, same partition)
    value: "text" | {any JSON}    (required; JSON is serialised compactly)
    headers: {name: value}
    bootstrap: host:port[,host:port]   (default: ALMANAC_KAFKA_BOOTSTRAP)
    timeout: 30s

``acks=all``: the result reports partition and offset only once every in-sync replica has
the record, so a succeeded run means the message is durable.

Almanac's own topics (``almanac.*``, the notification topic) and ``almanac-*`` headers are
refused before any connection (:mod:`almanac.core.kafkanames`): admission refuses them for
the built-in ``message`` template, and this check also covers other templates running this
payload and params computed per event by triggers.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import Mapping
from typing import Any

from aiokafka.errors import KafkaError
from pydantic import Field

from almanac.core.base import Duration
from almanac.core.kafkanames import KafkaNames, publish_problems
from almanac.executor.context import PayloadContext
from almanac.executor.errors import PayloadFailedError
from almanac.executor.paramsmodel import ParamsModel, parse_params
from almanac.executor.payloads.common import JsonValue, seconds
from almanac.executor.result import Result

__all__ = ["MessageParams", "execute"]


class MessageParams(ParamsModel):
    """Params of the ``message`` payload."""

    topic: str = Field(
        min_length=1, max_length=249, pattern=r"^[a-zA-Z0-9._-]+$", description="Kafka topic."
    )
    key: str | None = Field(None, max_length=1024, description="Record key.")
    value: JsonValue = Field(description="Record value: text, or JSON.")
    headers: dict[str, str] = Field(default_factory=dict, max_length=32, description="Headers.")
    bootstrap: str | None = Field(
        None, min_length=3, max_length=1024, description="Brokers (default from the operator)."
    )
    timeout: Duration = Field("30s", description="Deadline for connect + send + ack.")


def _refuse_reserved(params: MessageParams, names: KafkaNames) -> None:
    """Almanac's own topics and headers route and notify other tenants: never publish there."""
    problems = publish_problems(params.topic, params.headers, names)
    if problems:
        raise PayloadFailedError(
            "; ".join(str(p) for p in problems) if len(problems) > 1 else problems[0].message,
            problems[0].field,
            {"problems": [{"field": p.field, "message": p.message} for p in problems]},
        )


def _value_bytes(value: JsonValue) -> bytes:
    return value.encode() if isinstance(value, str) else json.dumps(value).encode()


async def execute(raw: Mapping[str, Any], ctx: PayloadContext) -> Result:
    """Publish the record; succeed once it is acknowledged by all in-sync replicas."""
    params = parse_params(MessageParams, raw)
    _refuse_reserved(params, ctx.settings.kafka_names)
    if params.value is None:
        raise PayloadFailedError("value is null; give a text or JSON value", "params.value")
    bootstrap = params.bootstrap or ctx.settings.kafka_bootstrap
    if not bootstrap:
        raise PayloadFailedError(
            "no Kafka brokers: set params.bootstrap or ALMANAC_KAFKA_BOOTSTRAP (the operator's "
            "kafka.bootstrap setting)",
            "params.bootstrap",
        )
    timeout = seconds(params.timeout, "params.timeout")
    millis = int(timeout * 1000)
    producer = ctx.producers(
        bootstrap_servers=bootstrap,
        acks="all",
        enable_idempotence=True,
        request_timeout_ms=millis,
        client_id=f"almanac-{ctx.run.run}"[:200],
    )
    try:
        async with asyncio.timeout(timeout):
            await producer.start()
            metadata = await producer.send_and_wait(
                params.topic,
                _value_bytes(params.value),
                key=params.key.encode() if params.key is not None else None,
                headers=[(k, v.encode()) for k, v in params.headers.items()],
            )
    except TimeoutError:
        raise PayloadFailedError(
            f"publishing to {params.topic!r} via {bootstrap} timed out after {params.timeout}; "
            "check the brokers or raise params.timeout",
            "params.bootstrap",
        ) from None
    except KafkaError as exc:
        raise PayloadFailedError(
            f"publishing to {params.topic!r} via {bootstrap} failed: {type(exc).__name__}: "
            f"{exc}; check the brokers and the topic",
            "params.bootstrap",
        ) from None
    finally:
        with contextlib.suppress(TimeoutError, KafkaError):
            async with asyncio.timeout(5):
                await producer.stop()
    return Result.succeeded(
        f"published to {metadata.topic} partition {metadata.partition} offset {metadata.offset}",
        topic=metadata.topic,
        partition=metadata.partition,
        offset=metadata.offset,
        key=params.key,
    )
