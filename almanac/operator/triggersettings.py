"""How the event triggers are configured: read once from the environment at start.

Split from :mod:`almanac.operator.triggers` so that configuration is one concept of its
own: :class:`TriggerSettings` says whether triggers run at all (Kafka's address), which
consumer group and Kafka security they use, how long settled RunRequests are kept, and
how much CPU time and how many processes expression evaluation may use. Every variable
is parsed and checked here, at the operator's start, so a bad value stops the operator
naming the variable (exit 2) instead of failing later on the first event.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import timedelta
from typing import Final

from almanac.core.durations import parse_duration
from almanac.core.errors import InvalidInputError
from almanac.core.kafkanames import DEFAULT_NAMES, KafkaNames
from almanac.kafkasecurity import PLAINTEXT, KafkaSecurity

__all__ = ["MAX_EVAL_WORKERS", "TriggerSettings"]

#: Most evaluator processes one operator may start (each is about 40 MB).
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
        """The settings the variables of ``env`` (default: this process's) give.

        Raises
        ------
        InvalidInputError
            A variable is set to a value it cannot take; its ``field`` names the variable.
        """
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
    """``ALMANAC_TRIGGER_EVAL_WORKERS`` as a number of processes, refused outside 1-16."""
    if raw.isdigit() and 1 <= int(raw) <= MAX_EVAL_WORKERS:
        return int(raw)
    raise InvalidInputError(
        f"{raw!r} is not a whole number from 1 to {MAX_EVAL_WORKERS}; fix or unset it",
        "ALMANAC_TRIGGER_EVAL_WORKERS",
    )
