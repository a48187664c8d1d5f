"""OpenTelemetry traces of Almanac's processes, off unless an OTLP endpoint is set.

On when ``OTEL_EXPORTER_OTLP_ENDPOINT`` (or ``OTEL_EXPORTER_OTLP_TRACES_ENDPOINT``) is set,
the standard variables of every OpenTelemetry SDK, and neither ``OTEL_SDK_DISABLED=true``
nor ``OTEL_TRACES_EXPORTER=none`` says otherwise; there is no Almanac setting of its own,
so one variable in the chart (``tracing.otlpEndpoint``) turns it on everywhere. Off, a
process holds a :class:`NoTracing` whose every call returns at once and never imports the
OpenTelemetry SDK (only :func:`open_tracing` may, and only when on).

Spans are values (:class:`~almanac.core.runspans.SpanRecord`) built by pure code and
handed to :meth:`Tracing.emit` once they ended, with the ids the run's identity
determines (:mod:`almanac.core.tracing`).
"""

from __future__ import annotations

from almanac.tracing.settings import (
    NoTracing,
    Tracing,
    TracingSettings,
    link_current_span_to_run,
    open_tracing,
)

__all__ = ["NoTracing", "Tracing", "TracingSettings", "link_current_span_to_run", "open_tracing"]
