"""The OpenTelemetry SDK behind :class:`~almanac.tracing.Tracing`, imported only when on.

Almanac's spans are emitted after they ended, with ids the run's identity determines
(:mod:`almanac.core.tracing`), so two processes that never talk agree on them. The SDK
picks ids through its ``IdGenerator``: :class:`_GivenIds` hands out the ids of the span
being emitted (set for the one synchronous ``start_span`` call) and random ones for every
other span (the facade's request spans).
"""

from __future__ import annotations

import contextvars
from datetime import datetime
from typing import Final

from opentelemetry import trace
from opentelemetry.context import Context
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
from opentelemetry.sdk.resources import SERVICE_NAME, Resource
from opentelemetry.sdk.trace import SpanProcessor, TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor, SpanExporter
from opentelemetry.sdk.trace.id_generator import IdGenerator, RandomIdGenerator

from almanac import __version__
from almanac.core.runspans import SpanRecord
from almanac.tracing.settings import TracingSettings

__all__ = ["OtelTracing"]

#: (trace id, span id) of the span being emitted, read by :class:`_GivenIds`.
_GIVEN: Final[contextvars.ContextVar[tuple[int, int] | None]] = contextvars.ContextVar(
    "almanac_given_span_ids", default=None
)
_KINDS: Final = {"internal": trace.SpanKind.INTERNAL, "producer": trace.SpanKind.PRODUCER}
_SAMPLED: Final = trace.TraceFlags(trace.TraceFlags.SAMPLED)


class _GivenIds(IdGenerator):
    """The ids :meth:`OtelTracing.emit` gives, else random ones."""

    def __init__(self) -> None:
        self._random = RandomIdGenerator()

    def generate_span_id(self) -> int:
        given = _GIVEN.get()
        return given[1] if given is not None else self._random.generate_span_id()

    def generate_trace_id(self) -> int:
        given = _GIVEN.get()
        return given[0] if given is not None else self._random.generate_trace_id()

    def is_trace_id_random(self) -> bool:
        return False  # hashes of the run's identity, not random bits (W3C level 2 flag)


def _nanos(value: datetime) -> int:
    return int(value.timestamp() * 1_000_000_000)


class OtelTracing:
    """A tracer provider with one span processor (batching, in production)."""

    enabled: Final = True

    def __init__(self, settings: TracingSettings, processor: SpanProcessor) -> None:
        resource = Resource.create(
            {SERVICE_NAME: settings.service_name, "service.version": __version__}
        )
        self.provider = TracerProvider(resource=resource, id_generator=_GivenIds())
        self.provider.add_span_processor(processor)
        self._tracer = self.provider.get_tracer("almanac", __version__)

    @classmethod
    def over_otlp(cls, settings: TracingSettings) -> OtelTracing:
        """Batches exported over OTLP/HTTP (protobuf); the exporter and the batching
        read their ``OTEL_*`` variables (endpoint, headers, timeout, schedule delay)."""
        return cls(settings, BatchSpanProcessor(OTLPSpanExporter()))

    @classmethod
    def to_exporter(cls, settings: TracingSettings, exporter: SpanExporter) -> OtelTracing:
        """Spans handed to ``exporter`` as each ends (tests, with an in-memory one)."""
        from opentelemetry.sdk.trace.export import SimpleSpanProcessor  # noqa: PLC0415

        return cls(settings, SimpleSpanProcessor(exporter))

    def emit(self, span: SpanRecord) -> None:
        """Record ``span`` with its own ids, parent, interval, attributes and status."""
        if span.parent_id is None:
            parent = Context()  # a root: no current span may become its parent
        else:
            remote = trace.SpanContext(
                int(span.trace_id, 16),
                int(span.parent_id, 16),
                is_remote=True,
                trace_flags=_SAMPLED,
            )
            parent = trace.set_span_in_context(trace.NonRecordingSpan(remote), Context())
        token = _GIVEN.set((int(span.trace_id, 16), int(span.span_id, 16)))
        try:
            started = self._tracer.start_span(
                span.name,
                context=parent,
                kind=_KINDS[span.kind],
                attributes=dict(span.attributes),
                start_time=_nanos(span.start),
            )
        finally:
            _GIVEN.reset(token)
        if span.error is not None:
            started.set_status(trace.Status(trace.StatusCode.ERROR, span.error))
        started.end(end_time=_nanos(span.end))

    def shutdown(self) -> None:
        """Export what is queued, then stop (the batch processor's flush is bounded by
        the exporter's timeout)."""
        self.provider.shutdown()
