"""Event triggers: every problem of a spec's triggers reported at once with its field,
deterministic request names (the durable dedup), chain cycles, and one import point."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import almanac.core.events
import almanac.core.expressions
import almanac.core.triggers
from almanac.core import InvalidInputError, InvalidSpecError
from almanac.core.requestnames import legacy_request_name, request_name
from almanac.core.triggers import (
    CompiledTrigger,
    after_event,
    compile_triggers,
    find_chain_cycle,
    plan_runs,
    validate_topic,
)

from .trigger_support import ESCALATE, OPENED, compile_all, compile_one

UID = "0b7f2f5e-1111-4222-8333-444455556666"
RECEIVED = datetime(2026, 6, 15, 10, 0, tzinfo=UTC)
LABEL = re.compile(r"[a-z0-9]([-a-z0-9]*[a-z0-9])?")
PROPERTY = settings(max_examples=200, deadline=None)


def problems(*triggers: dict[str, Any]) -> dict[str, str]:
    """Field → message of every problem ``compile_triggers`` reports."""
    with pytest.raises(InvalidSpecError) as caught:
        compile_all(*triggers)
    return {p.field: p.message for p in caught.value.problems}


# --- compiling triggers -----------------------------------------------------------------------


def test_step_is_refused_outside_params() -> None:
    found = problems({"kafka": {"topic": "t", "filter": "step == 0"}})
    assert found == {
        "spec.triggers[0].kafka.filter": "unknown variable 'step' at 1:1; expressions can use "
        "event; step is only defined in params"
    }


@pytest.mark.parametrize(
    "topic",
    [
        pytest.param("", id="empty"),
        pytest.param(".", id="dot"),
        pytest.param("..", id="dot-dot"),
        pytest.param("a" * 250, id="too-long"),
        pytest.param("has space", id="space"),
        pytest.param("tickets/eu", id="slash"),
        pytest.param("tïckets", id="non-ascii"),
    ],
)
def test_bad_topic_names_are_refused(topic: str) -> None:
    with pytest.raises(InvalidInputError) as caught:
        validate_topic(topic, "spec.triggers[0].kafka.topic")
    assert caught.value.field == "spec.triggers[0].kafka.topic"
    assert "use 1-249 letters, digits, '.', '_' and '-'" in caught.value.message


@pytest.mark.parametrize("topic", ["tickets", "eu.tickets_v2-1", "...", "a" * 249])
def test_kafka_topic_names_are_accepted(topic: str) -> None:
    assert validate_topic(topic, "f") == topic


def test_topic_dot_dot_is_refused_in_a_spec() -> None:
    assert set(problems({"kafka": {"topic": ".."}})) == {"spec.triggers[0].kafka.topic"}


def test_trigger_compiles_to_matchers_delays_and_params() -> None:
    trigger = compile_one(**ESCALATE)
    assert trigger.name == "escalate"
    assert trigger.kind == "event"
    assert trigger.field == "spec.triggers[0]"
    assert trigger.source is not None
    assert trigger.source.topic == "tickets"
    assert trigger.source.field == "spec.triggers[0].kafka"
    assert trigger.delays == (timedelta(0), timedelta(days=1), timedelta(days=3))
    assert [c.field for c in trigger.cancel] == ["spec.triggers[0].cancelOn[0].kafka"]
    assert list(trigger.params) == ["ticket"]


def test_defaults_name_by_index_and_one_immediate_run() -> None:
    first, second = compile_all(
        {"kafka": {"topic": "a"}},
        {"after": {"scheduledJob": "nightly-export"}, "delay": "5m"},
    )
    assert (first.name, first.delays) == ("trigger-0", (timedelta(0),))
    assert (second.name, second.kind, second.after) == (
        "trigger-1",
        "after",
        ("nightly-export", "Succeeded"),
    )
    assert second.delays == (timedelta(minutes=5),)


def test_no_triggers_compile_to_nothing() -> None:
    assert compile_triggers(None) == ()


@pytest.mark.parametrize(
    ("names", "field"),
    [
        pytest.param(["a", "a"], "spec.triggers[1].name", id="explicit"),
        pytest.param([None, "trigger-0"], "spec.triggers[1].name", id="clashes-with-default"),
    ],
)
def test_duplicate_trigger_names_are_refused(names: list[str | None], field: str) -> None:
    triggers = [{"name": n, "kafka": {"topic": "t"}} for n in names]
    found = problems(*triggers)
    assert list(found) == [field]
    assert "is also used by spec.triggers[0]; give each trigger a unique name" in found[field]


def test_trigger_name_must_be_a_label_value() -> None:
    found = problems({"name": "needs escalation", "kafka": {"topic": "t"}})
    assert "used as a label value" in found["spec.triggers[0].name"]


def test_cancel_on_needs_keys_on_both_sides() -> None:
    found = problems(
        {"kafka": {"topic": "t"}, "delay": "1h", "cancelOn": [{"kafka": {"topic": "t"}}]}
    )
    own, cancel = "spec.triggers[0].kafka.key", "spec.triggers[0].cancelOn[0].kafka.key"
    assert set(found) == {own, cancel}
    assert "cancelOn needs a key on the trigger's kafka source" in found[own]
    assert "a cancelOn source needs a key" in found[cancel]


def test_cancel_on_an_after_trigger_is_refused() -> None:
    found = problems(
        {
            "after": {"scheduledJob": "up"},
            "cancelOn": [{"kafka": {"topic": "t", "key": "event.k"}}],
        }
    )
    assert "only applies to kafka triggers" in found["spec.triggers[0].cancelOn"]


def test_sequence_must_increase() -> None:
    found = problems({"kafka": {"topic": "t"}, "sequence": ["0s", "3d", "1d"]})
    assert found == {
        "spec.triggers[0].sequence[2]": "'1d' is not after the previous step (3d); list the "
        "delays in increasing order, e.g. [0s, 1d, 3d]"
    }


def test_empty_sequence_is_refused() -> None:
    assert (
        "sequence is empty"
        in problems({"kafka": {"topic": "t"}, "sequence": []})["spec.triggers[0].sequence"]
    )


def test_every_problem_is_reported_with_its_camel_case_field() -> None:
    found = problems(
        {"kafka": {"topic": "t", "key": "event.k"}},
        {
            "kafka": {"topic": "t", "filter": "event.type ==", "key": "event.k"},
            "cancelOn": [{"kafka": {"topic": "t", "key": "event.k +"}}],
            "params": {"ticket": "tickt.id", "ok": "event.ticket"},
        },
    )
    assert list(found) == [
        "spec.triggers[1].kafka.filter",
        "spec.triggers[1].cancelOn[0].kafka.key",
        "spec.triggers[1].params.ticket",
    ]


# --- planning requests ------------------------------------------------------------------------


def plan(trigger: CompiledTrigger, event: dict[str, Any], **overrides: Any) -> list[Any]:
    kwargs: dict[str, Any] = {
        "scheduled_job": "ticket-escalation",
        "uid": UID,
        "event_id": str(event.get("id", "tickets/0/1")),
        "event": event,
        "received_at": RECEIVED,
    }
    return plan_runs(trigger, **(kwargs | overrides))


def test_sequence_plans_one_run_per_step_in_order_with_distinct_names() -> None:
    runs = plan(compile_one(**ESCALATE), OPENED)
    assert [r.step for r in runs] == [0, 1, 2]
    assert [r.due for r in runs] == [
        RECEIVED,
        RECEIVED + timedelta(days=1),
        RECEIVED + timedelta(days=3),
    ]
    assert len({r.name for r in runs}) == 3
    assert runs[0].name.startswith("ticket-escalation-")
    assert [r.name[len(runs[0].name) :] for r in runs] == ["", "-s1", "-s2"]
    assert {r.key for r in runs} == {"42"}
    assert runs[0].params == {"ticket": 42}


def test_same_event_twice_gives_the_same_names() -> None:
    trigger = compile_one(**ESCALATE)
    first = plan(trigger, OPENED)
    again = plan(trigger, dict(OPENED), received_at=RECEIVED + timedelta(minutes=5))
    assert [r.name for r in again] == [r.name for r in first]


def test_other_event_trigger_or_object_gives_other_names() -> None:
    first, second = compile_all(ESCALATE, {**ESCALATE, "name": "remind"})
    base = {r.name for r in plan(first, OPENED)}
    assert base.isdisjoint(r.name for r in plan(first, {**OPENED, "id": "evt-2"}))
    assert base.isdisjoint(r.name for r in plan(second, OPENED))
    assert base.isdisjoint(r.name for r in plan(first, OPENED, uid="another-uid"))


def test_plan_refuses_a_naive_receive_time() -> None:
    with pytest.raises(InvalidInputError):
        plan(compile_one(**ESCALATE), OPENED, received_at=datetime(2026, 6, 15, 10, 0))


def test_after_trigger_maps_the_upstream_run() -> None:
    trigger = compile_one(
        after={"scheduledJob": "nightly-export", "result": "Any"},
        params={"upstream": "event.run", "ok": "event.phase == 'Succeeded'"},
    )
    event = after_event("nightly-export", "nightly-export-202606150000", "Failed", None, 3)
    (run,) = plan(trigger, event, event_id="nightly-export-202606150000")
    assert run.key is None
    assert run.params == {"upstream": "nightly-export-202606150000", "ok": False}
    assert event == {
        "scheduledJob": "nightly-export",
        "run": "nightly-export-202606150000",
        "phase": "Failed",
        "result": None,
        "exitCode": 3,
    }


@pytest.mark.parametrize(
    ("step", "expected"),
    [
        pytest.param(0, "escalation-6wfcirm6zbarz7z45qmcqeqr4y", id="first-step"),
        pytest.param(2, "escalation-6wfcirm6zbarz7z45qmcqeqr4y-s2", id="later-step"),
    ],
)
def test_request_name_format(step: int, expected: str) -> None:
    # Pinned: a different hash after an upgrade would run redelivered events again.
    assert request_name("escalation", UID, "escalate", "evt-1", step) == expected


def test_request_names_carry_128_bits_of_the_event_identity() -> None:
    digest = request_name("escalation", UID, "escalate", "evt-1").rsplit("-", 1)[1]
    assert len(digest) * 5 >= 128
    assert re.fullmatch(r"[a-z2-7]+", digest)


def test_the_pre_128_bit_name_is_still_known_for_dedup() -> None:
    # Pinned: the names RunRequests had before; an event accepted under one is not again.
    assert legacy_request_name("escalation", UID, "escalate", "evt-1") == "escalation-f58a24459e"


def test_request_name_truncates_long_and_dotted_names() -> None:
    name = request_name("team.tickets." + "x" * 240, UID, "t", "evt-1", 31)
    assert len(name) == 63
    assert name.startswith("team-tickets-xxx")
    assert name.endswith("-s31")


def test_request_name_refuses_an_invalid_object_name() -> None:
    with pytest.raises(InvalidInputError):
        request_name("Not_Valid", UID, "t", "e")


SCHEDULED_JOBS = st.from_regex(
    r"[a-z0-9]([-a-z0-9]{0,80}[a-z0-9])?(\.[a-z0-9]([-a-z0-9]{0,40}[a-z0-9])?){0,4}",
    fullmatch=True,
)
REQUESTS = st.tuples(
    st.sampled_from([UID, "11111111-2222-3333-4444-555555555555"]),
    st.text(min_size=1, max_size=63),
    st.text(max_size=80),
    st.integers(0, 40),
)


@PROPERTY
@given(SCHEDULED_JOBS, REQUESTS)
def test_request_name_is_a_deterministic_dns_label(
    scheduled_job: str, request: tuple[str, str, str, int]
) -> None:
    name = request_name(scheduled_job, *request)
    assert len(name) <= 63
    assert LABEL.fullmatch(name), name
    assert request_name(scheduled_job, *request) == name


@PROPERTY
@given(SCHEDULED_JOBS, st.lists(REQUESTS, min_size=2, max_size=50, unique=True))
def test_distinct_requests_get_distinct_names(
    scheduled_job: str, requests: list[tuple[str, str, str, int]]
) -> None:
    names = {request_name(scheduled_job, *r) for r in requests}
    assert len(names) == len(requests)


# --- chains -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("edges", "start", "expected"),
    [
        pytest.param({"a": ["a"]}, "a", ["a", "a"], id="self-loop"),
        pytest.param({"a": ["b"], "b": ["a"]}, "a", ["a", "b", "a"], id="two-cycle"),
        pytest.param(
            {"a": ["b"], "b": ["c"], "c": ["a"]}, "b", ["b", "c", "a", "b"], id="three-cycle"
        ),
        pytest.param({"a": ["b"], "b": ["c"]}, "a", None, id="chain"),
        pytest.param(
            {"d": ["b", "c"], "b": ["a"], "c": ["a"]}, "d", None, id="diamond-is-no-cycle"
        ),
        pytest.param({"x": ["a"], "a": ["b"], "b": ["a"]}, "x", None, id="cycle-upstream-only"),
        pytest.param(
            {"a": ["x", "b"], "x": ["y"], "y": ["z"], "z": ["a"], "b": ["a"]},
            "a",
            ["a", "b", "a"],
            id="shortest-cycle",
        ),
        pytest.param({}, "a", None, id="unknown-start"),
    ],
)
def test_find_chain_cycle(
    edges: dict[str, list[str]], start: str, expected: list[str] | None
) -> None:
    assert find_chain_cycle(edges, start) == expected


# --- one import point -------------------------------------------------------------------------


def test_triggers_reexports_expressions_and_events() -> None:
    """The operator imports everything trigger-related from ``almanac.core.triggers``."""
    events, expressions = almanac.core.events, almanac.core.expressions
    names = [*events.__all__, "VARIABLES", "compile_expression"]
    assert set(names) <= set(almanac.core.triggers.__all__)
    for name in names:
        source = events if name in events.__all__ else expressions
        assert getattr(almanac.core.triggers, name) is getattr(source, name), name
