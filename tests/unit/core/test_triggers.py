"""Event triggers: CEL compiled once and refused with field and position, pure evaluation,
deterministic request names (the durable dedup), and chain cycles."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from almanac.core import InvalidInputError, InvalidSpecError, parse_spec
from almanac.core.triggers import (
    CompiledTrigger,
    EventError,
    after_event,
    after_matches,
    compile_expression,
    compile_triggers,
    event_identity,
    event_key,
    find_chain_cycle,
    map_params,
    matches,
    parse_event,
    plan_runs,
    request_name,
    validate_topic,
)

UID = "0b7f2f5e-1111-4222-8333-444455556666"
RECEIVED = datetime(2026, 6, 15, 10, 0, tzinfo=UTC)
LABEL = re.compile(r"[a-z0-9]([-a-z0-9]*[a-z0-9])?")
PROPERTY = settings(max_examples=200, deadline=None)
ESCALATE: dict[str, Any] = {
    "name": "escalate",
    "kafka": {
        "topic": "tickets",
        "filter": 'event.type == "ticket.opened"',
        "key": "event.ticket",
    },
    "sequence": ["0s", "1d", "3d"],
    "cancelOn": [
        {
            "kafka": {
                "topic": "tickets",
                "filter": 'event.type == "ticket.resolved"',
                "key": "event.ticket",
            }
        }
    ],
    "params": {"ticket": "event.ticket"},
}
OPENED = {"id": "evt-1", "type": "ticket.opened", "ticket": 42, "priority": "high"}


def compile_all(*triggers: dict[str, Any]) -> tuple[CompiledTrigger, ...]:
    """Validate triggers as the CRD model does, then compile them."""
    spec = parse_spec({"template": "http", "triggers": list(triggers)})
    return compile_triggers(spec.triggers)


def compile_one(**trigger: Any) -> CompiledTrigger:
    (compiled,) = compile_all(trigger)
    return compiled


def problems(*triggers: dict[str, Any]) -> dict[str, str]:
    """Field → message of every problem ``compile_triggers`` reports."""
    with pytest.raises(InvalidSpecError) as caught:
        compile_all(*triggers)
    return {p.field: p.message for p in caught.value.problems}


# --- compiling expressions --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("source", "position"),
    [
        pytest.param('event.type == "a" &&', "1:21", id="ends-early"),
        pytest.param("event.type == 'open", "1:15", id="unterminated-string"),
        pytest.param("event.a ==\n\n   )", "3:4", id="third-line"),
    ],
)
def test_bad_expression_is_refused_with_field_and_position(source: str, position: str) -> None:
    with pytest.raises(InvalidInputError) as caught:
        compile_expression(source, "spec.triggers[0].kafka.filter")
    assert caught.value.field == "spec.triggers[0].kafka.filter"
    assert f"invalid CEL at {position}:" in caught.value.message
    assert "fix the expression there" in caught.value.message


def test_empty_expression_is_refused_with_an_example() -> None:
    with pytest.raises(InvalidInputError, match="the expression is empty; write"):
        compile_expression("  ", "f")


@pytest.mark.parametrize(
    ("source", "message"),
    [
        pytest.param(
            "foo.bar == 1",
            "unknown variable 'foo' at 1:1; expressions can use event and step",
            id="unknown",
        ),
        pytest.param(
            "event.a == 1 && evnt.b == 2",
            "unknown variable 'evnt' at 1:17; expressions can use event and step",
            id="typo-after-first-clause",
        ),
        pytest.param(
            "math.greatest(event.a, 1)",
            "unknown variable 'math' at 1:1; expressions can use event and step",
            id="unsupported-namespace",
        ),
    ],
)
def test_unknown_variable_is_refused(source: str, message: str) -> None:
    with pytest.raises(InvalidInputError) as caught:
        compile_expression(source, "spec.triggers[0].params.x")
    assert caught.value.message == message


@pytest.mark.parametrize(
    "source",
    [
        pytest.param("event.tags.exists(t, t == 'vip')", id="macro-variable"),
        pytest.param("event.items.map(i, i.n * step)", id="map-and-step"),
        pytest.param("type(event.n) == int", id="type-name"),
        pytest.param("optional.of(event.a).hasValue()", id="optional-namespace"),
    ],
)
def test_known_names_compile(source: str) -> None:
    assert compile_expression(source, "f").source == source


def test_same_source_compiles_once() -> None:
    assert compile_expression("event.x == 1", "a") is compile_expression("event.x == 1", "b")


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


# --- compiling triggers -----------------------------------------------------------------------


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


# --- evaluating events ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("event", "expected"),
    [
        pytest.param(OPENED, True, id="matching"),
        pytest.param({**OPENED, "type": "ticket.resolved"}, False, id="other-type"),
    ],
)
def test_filter_decides_which_events_count(event: dict[str, Any], expected: bool) -> None:
    trigger = compile_one(**ESCALATE)
    assert trigger.source is not None
    assert matches(trigger.source, event) is expected


def test_no_filter_matches_every_event() -> None:
    trigger = compile_one(kafka={"topic": "t"})
    assert trigger.source is not None
    assert matches(trigger.source, {}) is True


def test_non_bool_filter_is_an_event_error_naming_the_field() -> None:
    trigger = compile_one(kafka={"topic": "t", "filter": "event.type"})
    assert trigger.source is not None
    with pytest.raises(EventError) as caught:
        matches(trigger.source, OPENED)
    assert caught.value.field == "spec.triggers[0].kafka.filter"
    assert caught.value.message.startswith("evaluated to str 'ticket.opened', not a bool")


def test_missing_key_in_filter_suggests_has() -> None:
    trigger = compile_one(kafka={"topic": "t", "filter": 'event.priority == "high"'})
    assert trigger.source is not None
    with pytest.raises(EventError) as caught:
        matches(trigger.source, {"id": "1"})
    assert str(caught.value) == (
        "spec.triggers[0].kafka.filter: evaluation failed: no such key 'priority'; guard it "
        "with has(event.priority)"
    )


def test_type_mismatch_in_filter_is_an_event_error() -> None:
    trigger = compile_one(kafka={"topic": "t", "filter": "event.ticket + 1 > 0"})
    assert trigger.source is not None
    with pytest.raises(EventError, match="evaluation failed: Unsupported operation"):
        matches(trigger.source, {"ticket": "T-1"})


def test_event_error_has_a_stable_code() -> None:
    assert EventError("x").code == "invalid_event"
    assert isinstance(EventError("x"), InvalidInputError)


@pytest.mark.parametrize(
    ("key", "event", "expected"),
    [
        pytest.param("event.ticket", {"ticket": 42}, "42", id="int"),
        pytest.param("event.ticket", {"ticket": "T-42"}, "T-42", id="string"),
        pytest.param("event.vip", {"vip": True}, "true", id="bool"),
        pytest.param("uint(event.n)", {"n": 7}, "7", id="uint"),
    ],
)
def test_key_is_text(key: str, event: dict[str, Any], expected: str) -> None:
    trigger = compile_one(kafka={"topic": "t", "key": key})
    assert trigger.source is not None
    assert event_key(trigger.source, event) == expected


def test_int_and_string_ids_give_the_same_key() -> None:
    trigger = compile_one(kafka={"topic": "t", "key": "event.ticket"})
    assert trigger.source is not None
    assert event_key(trigger.source, {"ticket": 42}) == event_key(trigger.source, {"ticket": "42"})


def test_no_key_expression_gives_none() -> None:
    trigger = compile_one(kafka={"topic": "t"})
    assert trigger.source is not None
    assert event_key(trigger.source, OPENED) is None


@pytest.mark.parametrize(
    ("event", "message"),
    [
        pytest.param({"ticket": [1]}, "a key must be a string, integer or bool", id="list"),
        pytest.param({"ticket": 1.5}, "a key must be a string, integer or bool", id="double"),
        pytest.param({"ticket": ""}, "keys need 1-1024", id="empty"),
    ],
)
def test_unusable_key_is_an_event_error(event: dict[str, Any], message: str) -> None:
    trigger = compile_one(kafka={"topic": "t", "key": "event.ticket"})
    assert trigger.source is not None
    with pytest.raises(EventError, match=message) as caught:
        event_key(trigger.source, event)
    assert caught.value.field == "spec.triggers[0].kafka.key"


def test_params_map_the_event_to_nested_json() -> None:
    trigger = compile_one(
        kafka={"topic": "t"},
        params={
            "ticket": "event.ticket",
            "summary": "{'tags': event.tags.map(t, t + '!'), 'step': step, 'vip': "
            "event.priority == 'high', 'score': 1.5, 'none': null}",
            "openedAt": "timestamp(event.at)",
            "wait": "duration('90s')",
            "raw": "b'hi'",
        },
    )
    event = {**OPENED, "tags": ["a", "b"], "at": "2026-01-01T10:00:00+02:00"}
    params = map_params(trigger, event, 2)
    assert list(params["summary"]) == sorted(params["summary"]), "CEL maps come out sorted"
    assert params == {
        "ticket": 42,
        "summary": {"tags": ["a!", "b!"], "step": 2, "vip": True, "score": 1.5, "none": None},
        "openedAt": "2026-01-01T08:00:00Z",
        "wait": "1m30s",
        "raw": "aGk=",
    }


@pytest.mark.parametrize(
    ("expression", "message"),
    [
        pytest.param("0.0 / 0.0", "return a finite number", id="nan"),
        pytest.param("{1: 'a'}", "JSON objects need string keys", id="int-map-key"),
        pytest.param("duration('-1h')", "negative duration", id="negative-duration"),
        pytest.param("event.missing", "no such key 'missing'", id="evaluation"),
    ],
)
def test_param_that_json_cannot_hold_names_the_param(expression: str, message: str) -> None:
    trigger = compile_one(kafka={"topic": "t"}, params={"ticket": expression})
    with pytest.raises(EventError, match=message) as caught:
        map_params(trigger, OPENED, 0)
    assert caught.value.field == "spec.triggers[0].params.ticket"


# --- events on the wire -----------------------------------------------------------------------


def test_parse_event_returns_the_object() -> None:
    assert parse_event(b'{"id": "1", "data": {"n": 2}}') == {"id": "1", "data": {"n": 2}}


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        pytest.param(b"{not json", "the event is not JSON", id="not-json"),
        pytest.param(b'{"n": NaN}', "the event is not JSON (NaN is not JSON)", id="nan"),
        pytest.param(b"[1, 2]", "the event is a JSON array, not an object", id="array"),
        pytest.param(b'"text"', "the event is a JSON string, not an object", id="string"),
        pytest.param(b'{"a": "\xff"}', "the event is not UTF-8 (bad byte at offset 7)", id="utf8"),
        pytest.param(b"[" * 100_000, "the event nests too deeply", id="deep"),
    ],
)
def test_parse_event_refuses_what_is_not_a_json_object(raw: bytes, message: str) -> None:
    with pytest.raises(EventError) as caught:
        parse_event(raw)
    assert caught.value.message.startswith(message)
    assert caught.value.code == "invalid_event"


@pytest.mark.parametrize(
    ("event", "expected"),
    [
        pytest.param({"id": "evt-1"}, "evt-1", id="string-id"),
        pytest.param({"id": 17}, "17", id="int-id"),
        pytest.param({}, "tickets/3/1200", id="no-id"),
        pytest.param({"id": ""}, "tickets/3/1200", id="empty-id"),
        pytest.param({"id": True}, "tickets/3/1200", id="bool-id"),
        pytest.param({"id": 1.5}, "tickets/3/1200", id="float-id"),
        pytest.param({"id": {"a": 1}}, "tickets/3/1200", id="object-id"),
    ],
)
def test_event_identity_is_id_else_position(event: dict[str, Any], expected: str) -> None:
    assert event_identity(event, "tickets", 3, 1200) == expected


def test_overlong_id_is_replaced_by_its_digest() -> None:
    long_id = "x" * 1025
    identity = event_identity({"id": long_id}, "t", 0, 0)
    assert identity.startswith("sha256:")
    assert len(identity) <= 1024
    assert identity == event_identity({"id": long_id}, "t", 5, 9)
    assert identity != event_identity({"id": long_id + "y"}, "t", 0, 0)
    assert event_identity({"id": "x" * 1024}, "t", 0, 0) == "x" * 1024


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
        pytest.param(0, "escalation-f58a24459e", id="first-step"),
        pytest.param(2, "escalation-f58a24459e-s2", id="later-step"),
    ],
)
def test_request_name_format(step: int, expected: str) -> None:
    # Pinned: a different hash after an upgrade would run redelivered events again.
    assert request_name("escalation", UID, "escalate", "evt-1", step) == expected


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


@pytest.mark.parametrize(
    ("expected", "phase", "fires"),
    [
        pytest.param("Succeeded", "Succeeded", True, id="succeeded-on-success"),
        pytest.param("Succeeded", "Failed", False, id="succeeded-on-failure"),
        pytest.param("Failed", "Failed", True, id="failed-on-failure"),
        pytest.param("Failed", "Succeeded", False, id="failed-on-success"),
        pytest.param("Any", "Succeeded", True, id="any-on-success"),
        pytest.param("Any", "Failed", True, id="any-on-failure"),
        pytest.param("Any", "Cancelled", False, id="cancelled-matches-nothing"),
        pytest.param("Any", "Skipped", False, id="skipped-matches-nothing"),
        pytest.param("Any", "Running", False, id="unfinished-matches-nothing"),
    ],
)
def test_after_matches(expected: str, phase: str, fires: bool) -> None:
    assert after_matches(expected, phase) is fires


def test_after_matches_refuses_an_unknown_result() -> None:
    with pytest.raises(InvalidInputError, match="use Succeeded, Failed or Any"):
        after_matches("Done", "Succeeded")
