"""The operator's observations of a run become its spans; off, nothing is built."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta

import pytest

from almanac.core.runspans import SpanRecord
from almanac.core.status import RunPhase
from almanac.core.tracing import RUN_SPAN, span_id_of
from almanac.history import RunRecord
from almanac.history.records import RunWrite
from almanac.notify import NotifySettings, messages_for_run
from almanac.operator.recording import RunRecorder
from almanac.operator.runtraces import RunTraces, notice_facts
from tests.unit.history.builders import SLOT, finished, record, running

NOW = SLOT + timedelta(minutes=5)
NOTIFY = NotifySettings(enabled=True, bootstrap="kafka:9092")


@dataclass
class Collected:
    """A :class:`~almanac.tracing.Tracing` that keeps what it is given."""

    enabled: bool = True
    spans: list[SpanRecord] = field(default_factory=list)

    def emit(self, span: SpanRecord) -> None:
        self.spans.append(span)

    def shutdown(self) -> None:
        return None

    @property
    def names(self) -> list[str]:
        return [s.name for s in self.spans]


def traces(enabled: bool = True) -> tuple[RunTraces, Collected]:
    collected = Collected(enabled)
    return RunTraces(collected, clock=lambda: NOW), collected


@pytest.mark.parametrize(
    ("seen", "names"),
    [
        pytest.param(record(started_at=SLOT), ["almanac.run.launch"], id="launched"),
        pytest.param(running(), ["almanac.run.running"], id="running"),
        pytest.param(finished(), ["almanac.run", "almanac.run.result"], id="finished"),
        pytest.param(finished(RunPhase.FAILED), ["almanac.run", "almanac.run.result"], id="failed"),
        pytest.param(record(RunPhase.SKIPPED, reason="suspended"), [], id="skipped-is-no-run"),
    ],
)
def test_each_phase_observed_is_its_spans(seen: RunRecord, names: list[str]) -> None:
    runs, collected = traces()
    runs.observed(seen)
    assert collected.names == names
    assert all(s.trace_id == seen.trace_id for s in collected.spans)


def test_a_launch_span_ends_when_the_recorder_hears_of_it() -> None:
    runs, collected = traces()
    runs.observed(record(started_at=SLOT + timedelta(seconds=1)))
    (span,) = collected.spans
    assert (span.start, span.end) == (SLOT, NOW)
    assert span.parent_id == span_id_of(span.trace_id, RUN_SPAN)


def test_off_nothing_is_emitted() -> None:
    runs, collected = traces(enabled=False)
    runs.observed(finished())
    runs.stored([RunWrite(finished())], SLOT)
    runs.published([("e", "t", {"type": "almanac.run.succeeded"})], SLOT)
    assert collected.spans == []


def test_a_final_row_stored_is_one_history_span_however_often_it_is_written() -> None:
    runs, collected = traces()
    began = NOW - timedelta(milliseconds=20)
    done = finished()
    runs.stored([RunWrite(running()), RunWrite(done)], began)
    runs.stored([RunWrite(done)], began)  # re-recorded after an eviction
    (span,) = collected.spans
    assert (span.name, span.start, span.end) == ("almanac.run.history", began, NOW)
    assert span.attributes["almanac.run.phase"] == "Succeeded"


def test_published_records_about_a_run_are_notice_spans() -> None:
    runs, collected = traces()
    done = finished(base=record(template="command"))
    rows = [(m.event_id, m.topic, m.payload) for m in messages_for_run(done, NOTIFY)]
    lifecycle = {"type": "almanac.job.created", "data": {"job_id": "u"}}  # about no run
    runs.published([*rows, ("job-created", "almanac.events", lifecycle)], NOW)
    assert len(rows) == 2  # the lifecycle event and the platform notice
    assert collected.names == ["almanac.run.notice", "almanac.run.notice"]
    assert {s.trace_id for s in collected.spans} == {done.trace_id}
    kinds = {s.attributes["almanac.notice.type"] for s in collected.spans}
    assert kinds == {"almanac.run.succeeded", "job-run-completed"}


@pytest.mark.parametrize(
    "payload",
    [
        pytest.param({}, id="empty"),
        pytest.param({"type": "almanac.run.started", "data": {"job_id": "u"}}, id="no-run"),
        pytest.param({"event_type": "x", "events": []}, id="no-events"),
        pytest.param(
            {
                "type": "almanac.run.started",
                "data": {
                    **dict.fromkeys(("namespace", "job_name", "job_id", "run_id"), "x"),
                    "slot": "soon",
                },
            },
            id="bad-slot",
        ),
    ],
)
def test_payloads_about_no_run_are_skipped(payload: dict[str, object]) -> None:
    assert notice_facts(payload) is None


def test_the_recorder_tells_each_phase_once() -> None:
    runs, collected = traces()

    class Buffer:
        def submit(self, *_: object) -> None:
            return None

    recorder = RunRecorder(Buffer(), NOTIFY)  # type: ignore[arg-type]
    recorder.on_record = runs.observed
    seen = running()
    recorder.record(seen)
    recorder.record(replace(seen, pod="pod-2"))  # the same phase again: queued once
    assert collected.names == ["almanac.run.running"]


class Exploding(Collected):
    def emit(self, span: SpanRecord) -> None:
        raise RuntimeError("exporter bug")


def test_a_failing_exporter_never_breaks_the_caller() -> None:
    runs = RunTraces(Exploding(), clock=lambda: NOW)
    runs.stored([RunWrite(finished())], datetime.now(NOW.tzinfo))  # logged, not raised
    runs.observed(finished())
