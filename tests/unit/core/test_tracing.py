"""A run's trace ids are functions of its identity, and its TRACEPARENT is valid W3C."""

from __future__ import annotations

import hashlib
import re

import pytest
from hypothesis import given
from hypothesis import strategies as st

from almanac.core.tracing import (
    TraceParent,
    format_traceparent,
    parse_traceparent,
    run_trace_id,
    run_traceparent,
    span_id_of,
)

UID = "6f1c1f0e-5b7a-4d43-9a0e-a1a2a3a4a5a6"
RUN = "nightly-202603290130"
W3C = re.compile(r"00-[0-9a-f]{32}-[0-9a-f]{16}-01")


def test_the_trace_id_is_the_pinned_hash_the_migration_computes_too() -> None:
    # Migration 6 computes the same in SQL for older rows: changing this breaks them.
    expected = hashlib.sha256(f"almanac.run/{UID}/{RUN}".encode()).hexdigest()[:32]
    assert run_trace_id(UID, RUN) == expected


@pytest.mark.parametrize(
    ("other_uid", "other_run"),
    [
        pytest.param("another-uid", RUN, id="same-run-name-of-a-recreated-job"),
        pytest.param(UID, "nightly-202603290130-a2", id="the-next-attempt"),
        pytest.param(UID, "nightly-202603300130", id="the-next-slot"),
    ],
)
def test_other_runs_get_other_traces(other_uid: str, other_run: str) -> None:
    assert run_trace_id(other_uid, other_run) != run_trace_id(UID, RUN)


def test_span_ids_are_per_name_and_stable() -> None:
    trace = run_trace_id(UID, RUN)
    assert span_id_of(trace, "almanac.run") == span_id_of(trace, "almanac.run")
    assert span_id_of(trace, "almanac.run") != span_id_of(trace, "almanac.run.launch")
    assert re.fullmatch(r"[0-9a-f]{16}", span_id_of(trace, "almanac.run"))


def test_the_run_traceparent_names_the_root_span_sampled() -> None:
    text = run_traceparent(UID, RUN)
    trace = run_trace_id(UID, RUN)
    assert text == f"00-{trace}-{span_id_of(trace, 'almanac.run')}-01"
    assert W3C.fullmatch(text)


@pytest.mark.parametrize(
    ("text", "parsed"),
    [
        pytest.param(
            "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
            TraceParent("4bf92f3577b34da6a3ce929d0e0e4736", "00f067aa0ba902b7", sampled=True),
            id="sampled",
        ),
        pytest.param(
            " 00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-00\n",
            TraceParent("4bf92f3577b34da6a3ce929d0e0e4736", "00f067aa0ba902b7", sampled=False),
            id="not-sampled-with-whitespace",
        ),
        pytest.param(None, None, id="absent"),
        pytest.param("", None, id="empty"),
        pytest.param("01-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01", None, id="v01"),
        pytest.param("00-" + "0" * 32 + "-00f067aa0ba902b7-01", None, id="zero-trace"),
        pytest.param(
            "00-4bf92f3577b34da6a3ce929d0e0e4736-" + "0" * 16 + "-01", None, id="zero-span"
        ),
        pytest.param("00-4BF92F3577B34DA6A3CE929D0E0E4736-00f067aa0ba902b7-01", None, id="upper"),
        pytest.param("00-4bf92f3577b34da6a3ce929d0e0e473-00f067aa0ba902b7-01", None, id="short"),
    ],
)
def test_parse_traceparent(text: str | None, parsed: TraceParent | None) -> None:
    assert parse_traceparent(text) == parsed


@given(st.text(min_size=1, max_size=40), st.text(min_size=1, max_size=60), st.booleans())
def test_a_formatted_context_parses_back(uid: str, run: str, sampled: bool) -> None:
    trace = run_trace_id(uid, run)
    span = span_id_of(trace, run)
    text = format_traceparent(trace, span, sampled=sampled)
    assert parse_traceparent(text) == TraceParent(trace, span, sampled)
    assert str(TraceParent(trace, span, sampled)) == text
