"""Over the wire: spans batched to an OTLP/HTTP endpoint (a collector on 127.0.0.1,
tests/support/otlp.py, the one the integration suites use) arrive whole at shutdown."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from almanac.core.runspans import RunFacts, finish_spans, launch_span
from almanac.core.status import RunPhase
from almanac.tracing import open_tracing
from tests.support.otlp import otlp_collector

SLOT = datetime(2026, 3, 29, 1, 30, tzinfo=UTC)
FACTS = RunFacts("team-a", "nightly", "uid-1", "nightly-1", SLOT, "schedule", 1, "command")


def test_spans_reach_the_collector_by_shutdown(monkeypatch: pytest.MonkeyPatch) -> None:
    with otlp_collector() as collector:
        env = {"OTEL_EXPORTER_OTLP_ENDPOINT": collector.endpoint}
        monkeypatch.setenv("OTEL_EXPORTER_OTLP_ENDPOINT", collector.endpoint)
        monkeypatch.setenv("OTEL_BSP_SCHEDULE_DELAY", "60000")  # only the shutdown flushes
        tracing = open_tracing(env, "almanac-operator")
        tracing.emit(launch_span(FACTS, SLOT, SLOT + timedelta(seconds=1)))
        for span in finish_spans(
            FACTS, RunPhase.FAILED, started=SLOT, finished=SLOT + timedelta(seconds=5)
        ):
            tracing.emit(span)
        tracing.shutdown()
        spans = collector.spans
    assert sorted(s.name for s in spans) == [
        "almanac.run",
        "almanac.run.launch",
        "almanac.run.result",
    ]
    assert {s.trace_id for s in spans} == {FACTS.trace_id}
    assert {s.service for s in spans} == {"almanac-operator"}
    root = next(s for s in spans if s.name == "almanac.run")
    assert root.parent == ""
    assert all(s.parent == root.span_id for s in spans if s is not root)
    assert root.status_code == 2  # STATUS_CODE_ERROR
