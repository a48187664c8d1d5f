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

Brokers named in ``params.bootstrap`` go through the egress guard
(:mod:`almanac.executor.netguard`) like an ``http`` URL: an internal address is refused
before any connection, naming ``params.bootstrap``, unless the template's ``--allow-cidrs``
or the operator's ``ALMANAC_HTTP_ALLOW_CIDRS`` allows it; the producer then bootstraps
from the vetted addresses. The operator's own ``ALMANAC_KAFKA_BOOTSTRAP`` (also when
params repeat it verbatim) is trusted: the cluster admin chose it, and it is usually
internal. Known limit: brokers that the bootstrap servers advertise in their metadata are
connected to by aiokafka without the guard, so allowing a network trusts the brokers in it.

Almanac's own topics (``almanac.*``, the notification topic) and ``almanac-*`` headers are
refused before any connection (:mod:`almanac.core.kafkanames`): admission refuses them for
the built-in ``message`` template, and this check also covers other templates running this
payload and params computed per event by triggers.

TLS and SASL (``ALMANAC_KAFKA_SECURITY_PROTOCOL`` and the rest, :mod:`almanac.kafkasecurity`,
when the run's environment has them) apply only to the platform's bootstrap: a broker that
params name never receives the platform's password or client certificate.
"""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import json
from collections.abc import Mapping
from typing import Any, Final

from aiokafka.errors import KafkaError
from pydantic import Field

from almanac.core.base import Duration
from almanac.core.kafkanames import KafkaNames, publish_problems
from almanac.executor.context import PayloadContext
from almanac.executor.errors import PayloadFailedError
from almanac.executor.netguard import vet_host
from almanac.executor.paramsmodel import ParamsModel, parse_params
from almanac.executor.payloads.common import JsonValue, seconds
from almanac.executor.result import Result

__all__ = ["MessageParams", "execute", "parse_bootstrap"]

_DEFAULT_KAFKA_PORT: Final = 9092
_BOOTSTRAP_FIX: Final = "write host:port[,host:port], IPv6 in brackets: [fd00::1]:9092"


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


def _split_entry(entry: str) -> tuple[str, str]:
    """``host:port``, ``host``, ``[v6]:port``, ``[v6]`` or a bare IPv6 literal (aiokafka's
    forms) into host and port text ("" for the default)."""
    if entry.startswith("["):
        host, bracket, rest = entry[1:].partition("]")
        if not bracket or (rest and not rest.startswith(":")):
            raise ValueError
        return host, rest[1:]
    if entry.count(":") > 1:
        ipaddress.IPv6Address(entry)  # a bare IPv6 literal has no port
        return entry, ""
    host, _, port = entry.partition(":")
    return host, port


def parse_bootstrap(text: str) -> list[tuple[str, int]]:
    """The ``(host, port)`` pairs of a bootstrap list, as aiokafka would read them.

    Raises
    ------
    PayloadFailedError
        An entry is malformed (named ``params.bootstrap``); the guard cannot judge it.
    """
    servers: list[tuple[str, int]] = []
    for entry in (part.strip() for part in text.split(",")):
        try:
            host, port = _split_entry(entry)
            number = int(port) if port else _DEFAULT_KAFKA_PORT
            if not host or not 0 < number < 65536:
                raise ValueError
        except ValueError:
            raise PayloadFailedError(
                f"bootstrap entry {entry[:100]!r} is not host:port; {_BOOTSTRAP_FIX}",
                "params.bootstrap",
            ) from None
        servers.append((host, number))
    return servers


async def _vetted_bootstrap(params_bootstrap: str, ctx: PayloadContext) -> list[str]:
    """Every params-given broker vetted by the guard, as ``address:port`` to connect to."""
    vetted: list[str] = []
    for host, port in parse_bootstrap(params_bootstrap):
        target = await vet_host(
            host,
            port,
            resolver=ctx.resolver,
            allow=ctx.settings.allow_cidrs,
            field="params.bootstrap",
        )
        address = target.address
        vetted.append(f"[{address}]:{port}" if address.version == 6 else f"{address}:{port}")
    return vetted


def _value_bytes(value: JsonValue) -> bytes:
    return value.encode() if isinstance(value, str) else json.dumps(value).encode()


async def execute(raw: Mapping[str, Any], ctx: PayloadContext) -> Result:
    """Publish the record; succeed once it is acknowledged by all in-sync replicas."""
    params = parse_params(MessageParams, raw)
    _refuse_reserved(params, ctx.settings.kafka_names)
    if not ctx.settings.kafka_topics.allows(params.topic):  # the namespace's allow-list
        refusal = ctx.settings.kafka_topics.refusal(params.topic, "params.topic")
        raise PayloadFailedError(refusal.message, refusal.field)
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
    servers: str | list[str] = bootstrap
    security: dict[str, Any] = {}  # the platform's credentials: for its brokers only
    if bootstrap != ctx.settings.kafka_bootstrap:  # resolution is bounded by the resolver
        servers = await _vetted_bootstrap(bootstrap, ctx)
    else:
        security = ctx.platform_kafka().client_kwargs()
    millis = int(timeout * 1000)
    producer = ctx.producers(
        bootstrap_servers=servers,
        acks="all",
        enable_idempotence=True,
        request_timeout_ms=millis,
        client_id=f"almanac-{ctx.run.run}"[:200],
        **security,
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
