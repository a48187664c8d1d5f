"""A run's trace identity and the W3C ``traceparent`` that carries it. Pure.

A run's spans are emitted at different moments, possibly by different processes: the
leader that launched it, a later leader that saw it finish, the relay that published its
notice, the executor in its pod. None of them can ask the others for an id, so every id
is derived from the run's identity, ``(ScheduledJob uid, run id)``, the key of its history
row: the trace id is a hash of it, and the span id of each span Almanac emits is a hash
of the trace id and the span's name. The same run always gets the same ids, whichever
process computes them and whether or not traces are exported, so:

* a Job built twice (a new leader, a retried create) has the same ``TRACEPARENT`` and so
  the same body (invariant one-run-per-slot relies on creation being idempotent);
* the history row's ``trace_id`` is known without asking a tracing backend;
* a span emitted twice (a run re-recorded after a failover) is the same span.

The Postgres migration that fills ``job_runs.trace_id`` for older rows computes
:func:`run_trace_id` in SQL: the two must stay equal (``tests/unit/core/test_tracing.py``
pins the formula).
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from typing import Final

__all__ = [
    "TRACEPARENT_VARIABLE",
    "TraceParent",
    "format_traceparent",
    "parse_traceparent",
    "run_trace_id",
    "run_traceparent",
    "span_id_of",
]

#: The run container's variable holding its trace context (the OpenTelemetry convention
#: for context carried in the environment).
TRACEPARENT_VARIABLE: Final = "TRACEPARENT"
#: The root span of every run trace (its id is the ``TRACEPARENT`` parent).
RUN_SPAN: Final = "almanac.run"
_VERSION: Final = "00"
_SAMPLED: Final = "01"
_HEADER: Final = re.compile(r"([0-9a-f]{2})-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})")
_ZERO_TRACE: Final = "0" * 32
_ZERO_SPAN: Final = "0" * 16


def run_trace_id(scheduledjob_uid: str, run_name: str) -> str:
    """The run's trace id: 32 lowercase hex digits, the first half of
    ``sha256("almanac.run/<uid>/<run>")`` (SQL: ``substr(encode(sha256(convert_to(
    'almanac.run/' || uid || '/' || run, 'UTF8')), 'hex'), 1, 32)``)."""
    text = f"{RUN_SPAN}/{scheduledjob_uid}/{run_name}"
    return hashlib.sha256(text.encode()).hexdigest()[:32]


def span_id_of(trace_id: str, name: str) -> str:
    """The id of the span ``name`` of trace ``trace_id``: 16 hex digits of
    ``sha256("<trace>/<name>")``. One span per name and run, so the name is enough."""
    return hashlib.sha256(f"{trace_id}/{name}".encode()).hexdigest()[:16]


@dataclass(frozen=True)
class TraceParent:
    """A parsed ``traceparent``: whose trace, which span is the parent, sampled or not."""

    trace_id: str
    span_id: str
    sampled: bool = True

    def __str__(self) -> str:
        return format_traceparent(self.trace_id, self.span_id, sampled=self.sampled)


def format_traceparent(trace_id: str, span_id: str, *, sampled: bool = True) -> str:
    """``00-<trace>-<span>-<flags>``, the W3C Trace Context header (version 00)."""
    return f"{_VERSION}-{trace_id}-{span_id}-{_SAMPLED if sampled else '00'}"


def run_traceparent(scheduledjob_uid: str, run_name: str) -> str:
    """The ``TRACEPARENT`` of a run's container: its trace, its root span as the parent,
    sampled (every run's trace is recorded whole when traces are exported; a receiver
    that records its own spans under it can find them by the run's ``trace_id`` even
    when Almanac exports nothing)."""
    trace = run_trace_id(scheduledjob_uid, run_name)
    return format_traceparent(trace, span_id_of(trace, RUN_SPAN))


def parse_traceparent(text: str | None) -> TraceParent | None:
    """The context in ``text``, or ``None`` when it is absent or not a valid version-00
    header (a malformed context is ignored, as the W3C recommends, never an error: a run
    must not fail over its tracing)."""
    if not text:
        return None
    match = _HEADER.fullmatch(text.strip())
    if match is None:
        return None
    version, trace, span, flags = match.groups()
    if version != _VERSION or trace == _ZERO_TRACE or span == _ZERO_SPAN:
        return None
    return TraceParent(trace, span, sampled=bool(int(flags, 16) & 1))
