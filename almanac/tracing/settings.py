"""Whether a process traces, and the no-op it holds when it does not.

Read from the standard OpenTelemetry variables (see :mod:`almanac.tracing`); the
exporter itself reads the rest of them (``OTEL_EXPORTER_OTLP_HEADERS``, ``..._TIMEOUT``,
``OTEL_BSP_SCHEDULE_DELAY`` ...) as every SDK does.
"""

from __future__ import annotations

import sys
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Final, Protocol

from almanac.core.errors import InvalidInputError
from almanac.core.runspans import SpanRecord
from almanac.core.tracing import RUN_SPAN, run_trace_id, span_id_of

if TYPE_CHECKING:
    from almanac.tracing.otel import OtelTracing

__all__ = ["NoTracing", "Tracing", "TracingSettings", "link_current_span_to_run", "open_tracing"]

ENDPOINT: Final = "OTEL_EXPORTER_OTLP_ENDPOINT"
TRACES_ENDPOINT: Final = "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT"
SERVICE_NAME: Final = "OTEL_SERVICE_NAME"


class Tracing(Protocol):
    """Where a process's finished spans go."""

    @property
    def enabled(self) -> bool: ...

    def emit(self, span: SpanRecord) -> None:
        """Export ``span`` (queued: never blocks, never raises)."""

    def shutdown(self) -> None:
        """Flush what is queued (bounded by the exporter's timeout) and stop."""


class NoTracing:
    """Tracing off: nothing is built, nothing imported, every call returns at once."""

    enabled: Final = False

    def emit(self, span: SpanRecord) -> None:
        return None

    def shutdown(self) -> None:
        return None


@dataclass(frozen=True)
class TracingSettings:
    """``enabled`` when an OTLP endpoint is set and the SDK is not disabled;
    ``service_name`` is ``OTEL_SERVICE_NAME`` or the process's default
    (``almanac-operator``, ``almanac-api``, ``almanac-executor``)."""

    enabled: bool
    service_name: str

    @classmethod
    def from_env(cls, env: Mapping[str, str], default_service: str) -> TracingSettings:
        """Raise :class:`InvalidInputError` naming an endpoint that is not an http(s) URL
        (the exporter would drop every span, saying so only in its own log)."""
        endpoints = [(n, env.get(n, "").strip()) for n in (TRACES_ENDPOINT, ENDPOINT)]
        for name, value in endpoints:
            if value and not value.startswith(("http://", "https://")):
                raise InvalidInputError(
                    f"{name}={value!r} is not an http(s) URL; set the OTLP/HTTP endpoint "
                    "of your collector, e.g. http://otel-collector:4318, or unset it",
                    name,
                )
        disabled = env.get("OTEL_SDK_DISABLED", "").strip().lower() == "true"
        exporter_off = env.get("OTEL_TRACES_EXPORTER", "").strip().lower() == "none"
        enabled = any(value for _, value in endpoints) and not disabled and not exporter_off
        service = env.get(SERVICE_NAME, "").strip() or default_service
        return cls(enabled=enabled, service_name=service)


def open_tracing(env: Mapping[str, str], default_service: str) -> NoTracing | OtelTracing:
    """The process's tracing: :class:`NoTracing` when off (the SDK is not imported),
    else a batch exporter over OTLP/HTTP; flush it with :meth:`Tracing.shutdown`."""
    settings = TracingSettings.from_env(env, default_service)
    if not settings.enabled:
        return NoTracing()
    from almanac.tracing.otel import OtelTracing  # noqa: PLC0415 - only when on

    return OtelTracing.over_otlp(settings)


def link_current_span_to_run(scheduledjob_uid: str, run_name: str) -> None:
    """Mark the request being traced (the facade's run-now or retry) with the run it
    asked for: its ``almanac.run.trace_id`` and a link to the run's root span. Nothing
    happens unless a span is recording, and nothing is imported when the API of
    OpenTelemetry was never loaded (tracing off)."""
    api = sys.modules.get("opentelemetry.trace")
    if api is None:
        return
    span = api.get_current_span()
    if not span.is_recording():
        return
    trace = run_trace_id(scheduledjob_uid, run_name)
    root = api.SpanContext(
        int(trace, 16),
        int(span_id_of(trace, RUN_SPAN), 16),
        is_remote=True,
        trace_flags=api.TraceFlags(api.TraceFlags.SAMPLED),
    )
    span.set_attribute("almanac.run.id", run_name)
    span.set_attribute("almanac.run.trace_id", trace)
    span.add_link(root, {"almanac.link": "run"})
