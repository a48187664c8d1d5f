"""The spans of a run's trace, as values. Pure: the shells measure the instants and hand
them in; :mod:`almanac.tracing` exports the values when traces are on.

A run's trace (ids from :mod:`almanac.core.tracing`)::

    almanac.run                 due -> finished       root; emitted when the run ends
    ├── almanac.run.launch      due -> Job created    the leader that created the Job
    ├── almanac.run.running     Job start -> seen     the Job watch showed it active
    ├── almanac.run.result      Job start -> finish   phase, exit code, error
    ├── almanac.run.history     the row's write       the final history row stored
    └── almanac.run.notice      the publish           each Kafka record about the run

*Due* is the slot for a first attempt (so the launch span shows the schedule lag) and the
moment the launch was decided for a retry (whose slot is its first attempt's).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Final, Literal

from almanac.core.naming import rfc3339_utc
from almanac.core.status import RunPhase
from almanac.core.tracing import RUN_SPAN, run_trace_id, span_id_of

__all__ = [
    "HISTORY_SPAN",
    "LAUNCH_SPAN",
    "NOTICE_SPAN",
    "RESULT_SPAN",
    "RUNNING_SPAN",
    "RUN_SPAN",
    "Attribute",
    "RunFacts",
    "SpanRecord",
    "due_at",
    "finish_spans",
    "history_span",
    "launch_span",
    "notice_span",
    "running_span",
]

LAUNCH_SPAN: Final = "almanac.run.launch"
RUNNING_SPAN: Final = "almanac.run.running"
RESULT_SPAN: Final = "almanac.run.result"
HISTORY_SPAN: Final = "almanac.run.history"
NOTICE_SPAN: Final = "almanac.run.notice"

Attribute = str | bool | int | float
SpanKind = Literal["internal", "producer"]


@dataclass(frozen=True)
class SpanRecord:
    """One finished span: its ids, parent (``None``: the root), interval and attributes;
    ``error`` set marks it failed (status ERROR with that description)."""

    name: str
    trace_id: str
    span_id: str
    parent_id: str | None
    start: datetime
    end: datetime
    attributes: Mapping[str, Attribute] = field(default_factory=dict)
    error: str | None = None
    kind: SpanKind = "internal"


@dataclass(frozen=True)
class RunFacts:
    """What every span of a run says about it (the history row's identity columns)."""

    namespace: str
    scheduledjob: str
    scheduledjob_uid: str
    run: str
    slot: datetime
    trigger: str
    attempt: int
    template: str = ""

    @property
    def trace_id(self) -> str:
        return run_trace_id(self.scheduledjob_uid, self.run)

    def attributes(self) -> dict[str, Attribute]:
        """Attributes on each of the run's spans (bounded values: no params, no result)."""
        return {
            "k8s.namespace.name": self.namespace,
            "almanac.scheduledjob": self.scheduledjob,
            "almanac.scheduledjob.uid": self.scheduledjob_uid,
            "almanac.run.id": self.run,
            "almanac.run.slot": rfc3339_utc(self.slot),
            "almanac.run.trigger": self.trigger,
            "almanac.run.attempt": self.attempt,
            "almanac.run.template": self.template,
        }

    def child(
        self,
        name: str,
        start: datetime,
        end: datetime,
        extra: Mapping[str, Attribute] | None = None,
        *,
        error: str | None = None,
        kind: SpanKind = "internal",
        key: str | None = None,
    ) -> SpanRecord:
        """Span ``name`` of this run under its root; ``end`` never before ``start``. Its
        id comes from ``key`` (default: the name) when a run has several of a name."""
        trace = self.trace_id
        return SpanRecord(
            name,
            trace,
            span_id_of(trace, key or name),
            span_id_of(trace, RUN_SPAN),
            start,
            max(start, end),
            self.attributes() | dict(extra or {}),
            error,
            kind,
        )


def due_at(slot: datetime, attempt: int, launched: datetime) -> datetime:
    """When the run became due: its slot for a first attempt, else when the pass that
    launched it ran (a retry keeps its first attempt's slot); never after ``launched``."""
    return min(slot, launched) if attempt == 1 else launched


def launch_span(facts: RunFacts, launched: datetime, created: datetime) -> SpanRecord:
    """Due to Job created: the schedule lag and the create call; ``launched`` is the
    instant of the pass that decided it."""
    return facts.child(LAUNCH_SPAN, due_at(facts.slot, facts.attempt, launched), created)


def running_span(facts: RunFacts, started: datetime | None, seen: datetime) -> SpanRecord:
    """The Job's start to the moment the Job watch showed it active."""
    return facts.child(RUNNING_SPAN, started or seen, seen)


def finish_spans(
    facts: RunFacts,
    phase: RunPhase,
    *,
    started: datetime | None,
    finished: datetime,
    error: str | None = None,
    exit_code: int | None = None,
    reason: str | None = None,
) -> tuple[SpanRecord, SpanRecord]:
    """The root span (due to finished) and the result span (Job start to finished) of a
    run that ended in ``phase``. A failed run's spans carry its error (status ERROR);
    a cancelled run's are not errors."""
    begun = started or finished
    due = due_at(facts.slot, facts.attempt, begun)
    outcome: dict[str, Attribute] = {"almanac.run.phase": phase.value}
    if exit_code is not None:
        outcome["almanac.run.exit_code"] = exit_code
    if reason:
        outcome["almanac.run.reason"] = reason
    failure = (error or f"the run ended {phase.value}") if phase is RunPhase.FAILED else None
    result = facts.child(RESULT_SPAN, begun, finished, outcome, error=failure)
    trace = facts.trace_id
    root = SpanRecord(
        RUN_SPAN,
        trace,
        span_id_of(trace, RUN_SPAN),
        None,
        due,
        max(due, finished),
        facts.attributes() | outcome,
        failure,
    )
    return root, result


def history_span(facts: RunFacts, phase: RunPhase, start: datetime, end: datetime) -> SpanRecord:
    """The write of the run's final history row (and its outbox messages, one
    transaction)."""
    return facts.child(HISTORY_SPAN, start, end, {"almanac.run.phase": phase.value})


def notice_span(
    facts: RunFacts, *, event_id: str, topic: str, kind: str, start: datetime, end: datetime
) -> SpanRecord:
    """The publication of one Kafka record about the run (``kind``: the lifecycle
    event's ``type`` or the notice's ``event_type``), acknowledged by the brokers; one
    span per record (its id from the record's event id)."""
    extra: dict[str, Attribute] = {
        "messaging.system": "kafka",
        "messaging.destination.name": topic,
        "almanac.notice.type": kind,
        "almanac.notice.id": event_id,
    }
    key = f"{NOTICE_SPAN}/{event_id}"
    return facts.child(NOTICE_SPAN, start, end, extra, kind="producer", key=key)
