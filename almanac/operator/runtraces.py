"""The operator's side of run traces: what it observes of a run, as spans.

Three hooks feed it, each where the shell learns something and none of them waiting:

* :meth:`RunTraces.observed`, from :meth:`~almanac.operator.recording.RunRecorder.record`,
  where every phase of a run arrives once per process: *pending* right after the
  launcher created the Job (the launch span), *running* when the Job watch first shows it
  active, a final phase when the writer read its outcome (or a pass cancelled it): the
  result span and the root;
* :meth:`RunTraces.stored`, from the history buffer once a batch of rows is committed;
* :meth:`RunTraces.published`, from the outbox relay once the brokers acknowledged.

With tracing off every hook returns on its first line. Span ids are the run's (see
:mod:`almanac.core.tracing`): a run seen again by a new leader emits the same spans again,
which a tracing backend shows once.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any, Final

from almanac.core.runspans import (
    HISTORY_SPAN,
    RunFacts,
    SpanRecord,
    finish_spans,
    history_span,
    launch_span,
    notice_span,
    running_span,
)
from almanac.core.status import RunPhase
from almanac.history.records import RunRecord, RunWrite
from almanac.tracing import Tracing

from .logs import log

__all__ = ["Published", "RunTraces", "facts_of", "notice_facts"]

#: History spans remembered as emitted, so a row written twice is one span (bounded).
_REMEMBERED: Final = 50_000
#: ``(event id, topic, payload)`` of an acknowledged outbox row.
Published = tuple[str, str, Mapping[str, Any]]


def facts_of(record: RunRecord) -> RunFacts:
    """The run a history record describes."""
    return RunFacts(
        namespace=record.namespace,
        scheduledjob=record.scheduledjob,
        scheduledjob_uid=record.scheduledjob_uid,
        run=record.run_name,
        slot=record.slot,
        trigger=record.trigger,
        attempt=record.attempt,
        template=record.template,
    )


def notice_facts(payload: Mapping[str, Any]) -> tuple[RunFacts, str] | None:
    """The run an outbox payload is about and its kind, ``None`` for anything else (a
    job's lifecycle event): a run's lifecycle event carries the run in ``data``, a
    platform notice in ``events[0].payload`` (:mod:`almanac.notify.formats`)."""
    kind = payload.get("type") or payload.get("event_type")
    data = payload.get("data")
    if not isinstance(data, Mapping):
        events = payload.get("events")
        first = events[0] if isinstance(events, list) and events else {}
        data = first.get("payload") if isinstance(first, Mapping) else None
    if not isinstance(kind, str) or not isinstance(data, Mapping):
        return None
    try:
        facts = RunFacts(
            namespace=str(data["namespace"]),
            scheduledjob=str(data["job_name"]),
            scheduledjob_uid=str(data["job_id"]),
            run=str(data["run_id"]),
            slot=datetime.fromisoformat(str(data["slot"]).replace("Z", "+00:00")),
            trigger=str(data.get("trigger") or ""),
            attempt=int(data.get("attempt") or 1),
            template=str(data.get("template") or ""),
        )
    except (KeyError, TypeError, ValueError):
        return None
    return facts, kind


class RunTraces:
    """Turns the operator's observations of runs into spans for ``tracing``."""

    def __init__(
        self, tracing: Tracing, clock: Callable[[], datetime] = lambda: datetime.now(UTC)
    ) -> None:
        self.tracing = tracing
        self.enabled = tracing.enabled
        self._clock = clock
        self._stored: OrderedDict[str, None] = OrderedDict()

    def observed(self, record: RunRecord) -> None:
        """A phase of a run, recorded by this process for the first time."""
        if not self.enabled or record.phase is RunPhase.SKIPPED:
            return
        facts, now = facts_of(record), self._clock()
        if record.phase is RunPhase.PENDING:
            self._emit(launch_span(facts, record.started_at or now, now))
        elif record.phase is RunPhase.RUNNING:
            self._emit(running_span(facts, record.started_at, now))
        else:
            for span in finish_spans(
                facts,
                record.phase,
                started=record.started_at,
                finished=record.finished_at or now,
                error=record.error,
                exit_code=record.exit_code,
                reason=record.reason,
            ):
                self._emit(span)

    def stored(self, writes: Sequence[RunWrite], began: datetime) -> None:
        """A batch of rows committed (with their outbox messages) since ``began``: a
        span for each run whose final row it held, once per run."""
        if not self.enabled:
            return
        now = self._clock()
        for write in writes:
            record = write.record
            if not record.final or record.phase is RunPhase.SKIPPED:
                continue
            facts = facts_of(record)
            if self._first(f"{facts.trace_id}/{HISTORY_SPAN}"):
                self._emit(history_span(facts, record.phase, began, now))

    def published(self, rows: Sequence[Published], began: datetime) -> None:
        """Outbox rows the brokers acknowledged, published since ``began``: a span for
        each record about a run."""
        if not self.enabled:
            return
        now = self._clock()
        for event_id, topic, payload in rows:
            found = notice_facts(payload)
            if found is not None:
                facts, kind = found
                span = notice_span(
                    facts, event_id=event_id, topic=topic, kind=kind, start=began, end=now
                )
                self._emit(span)

    def _emit(self, span: SpanRecord) -> None:
        """Hand ``span`` on; a failure is logged, never raised into the history write or
        the relay pass that called (a run's row matters more than its span)."""
        try:
            self.tracing.emit(span)
        except Exception:
            log.exception("span not emitted", extra={"span": span.name, "trace": span.trace_id})

    def _first(self, key: str) -> bool:
        if key in self._stored:
            return False
        if len(self._stored) >= _REMEMBERED:
            self._stored.popitem(last=False)
        self._stored[key] = None
        return True
