"""Tracing is on only with an OTLP endpoint; on, spans leave with the run's own ids."""

from __future__ import annotations

import subprocess
import sys
from datetime import UTC, datetime, timedelta

import pytest
from opentelemetry import trace
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from almanac.core.errors import InvalidInputError
from almanac.core.runspans import RunFacts, finish_spans, launch_span, notice_span
from almanac.core.status import RunPhase
from almanac.core.tracing import RUN_SPAN, run_trace_id, span_id_of
from almanac.tracing import NoTracing, TracingSettings, link_current_span_to_run, open_tracing
from almanac.tracing.otel import OtelTracing

SLOT = datetime(2026, 3, 29, 1, 30, tzinfo=UTC)
FACTS = RunFacts("team-a", "nightly", "uid-1", "nightly-1", SLOT, "schedule", 1, "command")
ENDPOINT = "http://127.0.0.1:4318"


@pytest.mark.parametrize(
    ("env", "enabled", "service"),
    [
        pytest.param({}, False, "almanac-operator", id="off-by-default"),
        pytest.param({"OTEL_EXPORTER_OTLP_ENDPOINT": ENDPOINT}, True, "almanac-operator", id="on"),
        pytest.param(
            {"OTEL_EXPORTER_OTLP_TRACES_ENDPOINT": f"{ENDPOINT}/v1/traces"},
            True,
            "almanac-operator",
            id="traces-endpoint",
        ),
        pytest.param(
            {"OTEL_EXPORTER_OTLP_ENDPOINT": ENDPOINT, "OTEL_SERVICE_NAME": "ops-almanac"},
            True,
            "ops-almanac",
            id="service-name",
        ),
        pytest.param(
            {"OTEL_EXPORTER_OTLP_ENDPOINT": ENDPOINT, "OTEL_SDK_DISABLED": "true"},
            False,
            "almanac-operator",
            id="sdk-disabled",
        ),
        pytest.param(
            {"OTEL_EXPORTER_OTLP_ENDPOINT": ENDPOINT, "OTEL_TRACES_EXPORTER": "none"},
            False,
            "almanac-operator",
            id="exporter-none",
        ),
        pytest.param({"OTEL_EXPORTER_OTLP_ENDPOINT": " "}, False, "almanac-operator", id="blank"),
    ],
)
def test_settings(env: dict[str, str], enabled: bool, service: str) -> None:
    assert TracingSettings.from_env(env, "almanac-operator") == TracingSettings(enabled, service)


@pytest.mark.parametrize(
    "name", ["OTEL_EXPORTER_OTLP_ENDPOINT", "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT"]
)
def test_an_endpoint_that_is_no_url_is_refused_by_name(name: str) -> None:
    with pytest.raises(InvalidInputError) as caught:
        TracingSettings.from_env({name: "otel-collector:4318"}, "almanac-api")
    assert caught.value.field == name
    assert "http://otel-collector:4318" in str(caught.value)


def test_off_the_sdk_is_never_imported() -> None:
    code = (
        "import sys, almanac.operator.main, almanac.api.main, almanac.executor.main\n"
        "from almanac.tracing import open_tracing\n"
        "assert type(open_tracing({}, 'x')).__name__ == 'NoTracing'\n"
        "loaded = [m for m in sys.modules if m.startswith('opentelemetry.sdk')]\n"
        "assert not loaded, loaded\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True, timeout=120)


def test_no_tracing_takes_spans_and_does_nothing() -> None:
    tracing = open_tracing({}, "almanac-operator")
    assert isinstance(tracing, NoTracing)
    tracing.emit(launch_span(FACTS, SLOT, SLOT))
    tracing.shutdown()


def test_on_it_exports_over_otlp() -> None:
    tracing = open_tracing({"OTEL_EXPORTER_OTLP_ENDPOINT": ENDPOINT}, "almanac-operator")
    assert isinstance(tracing, OtelTracing)
    tracing.shutdown()  # nothing queued: no request is sent


@pytest.fixture
def exported() -> tuple[OtelTracing, InMemorySpanExporter]:
    memory = InMemorySpanExporter()
    return OtelTracing.to_exporter(TracingSettings(True, "almanac-operator"), memory), memory


def test_spans_leave_with_the_runs_ids_interval_and_status(
    exported: tuple[OtelTracing, InMemorySpanExporter],
) -> None:
    tracing, memory = exported
    root, result = finish_spans(
        FACTS,
        RunPhase.FAILED,
        started=SLOT + timedelta(seconds=3),
        finished=SLOT + timedelta(seconds=8),
        error="exit code 3",
    )
    for span in (root, result):
        tracing.emit(span)
    got = {s.name: s for s in memory.get_finished_spans()}
    trace_id = int(run_trace_id("uid-1", "nightly-1"), 16)
    root_id = int(span_id_of(run_trace_id("uid-1", "nightly-1"), RUN_SPAN), 16)
    out_root, out_result = got["almanac.run"], got["almanac.run.result"]
    assert out_root.context is not None
    assert out_result.context is not None
    assert (out_root.context.trace_id, out_root.context.span_id) == (trace_id, root_id)
    assert out_root.parent is None
    assert out_result.context.trace_id == trace_id
    assert out_result.context.span_id == int(result.span_id, 16)
    assert out_result.parent is not None
    assert out_result.parent.span_id == root_id
    assert out_root.start_time == int(SLOT.timestamp() * 1e9)
    assert out_result.end_time == int((SLOT + timedelta(seconds=8)).timestamp() * 1e9)
    assert out_result.status.status_code is trace.StatusCode.ERROR
    assert out_result.status.description == "exit code 3"
    assert out_root.resource.attributes["service.name"] == "almanac-operator"
    assert out_result.attributes is not None
    assert out_result.attributes["almanac.run.id"] == "nightly-1"


def test_a_notice_is_a_producer_span(exported: tuple[OtelTracing, InMemorySpanExporter]) -> None:
    tracing, memory = exported
    tracing.emit(notice_span(FACTS, event_id="e", topic="t", kind="k", start=SLOT, end=SLOT))
    (span,) = memory.get_finished_spans()
    assert span.kind is trace.SpanKind.PRODUCER


def test_other_spans_still_get_random_ids(
    exported: tuple[OtelTracing, InMemorySpanExporter],
) -> None:
    tracing, memory = exported
    tracing.emit(launch_span(FACTS, SLOT, SLOT))
    with tracing.provider.get_tracer("t").start_as_current_span("request"):
        pass
    request = next(s for s in memory.get_finished_spans() if s.name == "request")
    assert request.context is not None
    assert request.context.trace_id != int(run_trace_id("uid-1", "nightly-1"), 16)


def test_a_request_span_is_linked_to_the_run_it_asked_for(
    exported: tuple[OtelTracing, InMemorySpanExporter],
) -> None:
    tracing, memory = exported
    with tracing.provider.get_tracer("t").start_as_current_span("POST /jobs/{job_id}/run"):
        link_current_span_to_run("uid-1", "nightly-1")
    (span,) = memory.get_finished_spans()
    trace_id = run_trace_id("uid-1", "nightly-1")
    assert span.attributes is not None
    assert span.attributes["almanac.run.trace_id"] == trace_id
    (link,) = span.links
    assert link.context.trace_id == int(trace_id, 16)
    assert link.context.span_id == int(span_id_of(trace_id, RUN_SPAN), 16)


def test_linking_without_a_recording_span_does_nothing() -> None:
    link_current_span_to_run("uid-1", "nightly-1")  # no span: returns quietly
