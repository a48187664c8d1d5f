"""Which trigger routes read a topic, and what an event's verdicts ask the consumer to do.

Split from :mod:`almanac.operator.triggers` so that the consumer keeps to its loop: this
module holds the routing table (topic → the ScheduledJob sources that read it, each with
the :class:`~almanac.core.routecheck.RouteCheck` the evaluator answers) and
:class:`Outcome`, the counters and work one event produced. Almanac's own topics other
than the trigger topic are never routed (admission refuses them; an object admitted
before is logged, not served).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal

from aiokafka import ConsumerRecord

from almanac.core.kafkanames import KafkaNames
from almanac.core.routecheck import RouteCheck, check_of
from almanac.core.runrequests import EventSource, RunRequestSpec
from almanac.core.triggers import CompiledTrigger, KafkaMatcher, PlannedRun

from .logs import log
from .namespacecache import NamespaceCache
from .tracked import Tracked

__all__ = [
    "Create",
    "Outcome",
    "Route",
    "allowed_routes",
    "build_routes",
    "fields_of",
    "headers_of",
    "specs_of",
]


@dataclass(frozen=True)
class Route:
    """One way an event on a topic can matter: start runs of a trigger, or cancel them."""

    key: tuple[str, str]
    trigger: str
    role: Literal["start", "cancel"]
    matcher: KafkaMatcher
    check: RouteCheck


@dataclass(frozen=True)
class Create:
    """One record an accepted event asks for (a Job or a RunRequest)."""

    tracked: Tracked
    trigger: str
    name: str
    spec: RunRequestSpec
    #: When its event was sent (``None``: a chain's): a run due later than that may be
    #: cancelled by an event not handled yet (``waits_for_events``).
    sent: datetime | None = None


@dataclass
class Outcome:
    """Counters and work one event produced (counted only once the work is done)."""

    counts: list[tuple[tuple[str, str], str, str, str | None]] = field(default_factory=list)
    creates: list[Create] = field(default_factory=list)
    #: (ScheduledJob, trigger, key, event id) of each cancel to run.
    cancels: list[tuple[Tracked, str, str, str]] = field(default_factory=list)
    #: The event's identity, once read (``None``: refused before it was parsed).
    event_id: str | None = None

    def count(self, route: Route, what: str, reason: str | None = None) -> None:
        self.counts.append((route.key, route.trigger, what, reason))


def build_routes(objects: Iterable[Tracked], names: KafkaNames) -> dict[str, list[Route]]:
    """Topic → routes of every valid ScheduledJob's Kafka sources."""
    routes: dict[str, list[Route]] = {}
    for t in objects:
        if t.error is not None:
            continue
        for trigger in t.triggers:
            for matcher, role in _sources(trigger):
                if _readable(t, matcher, names):
                    check = check_of(role, matcher, trigger)
                    route = Route(t.key, trigger.name, role, matcher, check)
                    routes.setdefault(matcher.topic, []).append(route)
    return routes


def _sources(
    trigger: CompiledTrigger,
) -> list[tuple[KafkaMatcher, Literal["start", "cancel"]]]:
    found: list[tuple[KafkaMatcher, Literal["start", "cancel"]]] = []
    if trigger.source is not None:
        found.append((trigger.source, "start"))
    return found + [(cancel, "cancel") for cancel in trigger.cancel]


def _readable(t: Tracked, matcher: KafkaMatcher, names: KafkaNames) -> bool:
    if matcher.topic == names.trigger_topic or not names.is_reserved_topic(matcher.topic):
        return True
    log.warning(
        "trigger on a reserved topic not served",
        extra={
            "scheduledjob": f"{t.ref.namespace}/{t.ref.name}",
            "topic": matcher.topic,
            "field": f"{matcher.field}.topic",
        },
    )
    return False


async def allowed_routes(
    topic: str,
    live: list[tuple[Route, Tracked]],
    namespaces: NamespaceCache | None,
    outcome: Outcome,
) -> list[tuple[Route, Tracked]]:
    """The routes whose namespace's topic allow-list (:mod:`almanac.core.topicpolicy`)
    has ``topic``; an event refused for a start route is counted failed with the reason,
    so the job's status says why its trigger did not fire. An unreadable policy raises:
    the record is read again, not routed as if the namespace were open."""
    if namespaces is None:
        return live
    kept: list[tuple[Route, Tracked]] = []
    for route, t in live:
        policy = await namespaces.get(route.key[0])
        if policy.topics.allows(topic):
            kept.append((route, t))
        elif route.role == "start":
            outcome.count(route, "received")
            reason = policy.topics.refusal(topic, f"{route.matcher.field}.topic").message
            outcome.count(route, "failed", reason)
    return kept


def headers_of(record: ConsumerRecord[Any, Any], name: str) -> list[str]:
    """Every non-empty value of header ``name`` (a record may repeat a header)."""
    return [
        bytes(value).decode("utf-8", "replace")
        for key, value in record.headers or ()
        if key == name and value
    ]


def specs_of(
    t: Tracked,
    *,
    trigger: str,
    kind: Literal["event", "after"],
    planned: list[PlannedRun],
    source: EventSource,
    event: dict[str, Any],
    sent: datetime | None = None,
) -> list[Create]:
    """The records (as RunRequest specs) of the runs one event plans for ``t``."""
    return [
        Create(
            t,
            trigger,
            run.name,
            RunRequestSpec(
                scheduled_job=t.ref.name,
                trigger=trigger,
                kind=kind,
                due_time=run.due,
                step=run.step,
                key=run.key,
                params=run.params,
                source=source,
                event=event,
            ),
            sent,
        )
        for run in planned
    ]


def fields_of(t: Tracked, event_id: str) -> dict[str, Any]:
    """Log fields naming the ScheduledJob and the event."""
    return {
        "scheduledjob": f"{t.ref.namespace}/{t.ref.name}",
        "uid": t.ref.uid,
        "event_id": event_id,
    }
