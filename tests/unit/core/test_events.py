"""Events at run time: filters, keys and params evaluated purely, failures naming the field;
decoding messages, event identity, and which upstream results fire ``after`` triggers."""

from __future__ import annotations

from typing import Any

import pytest

from almanac.core import InvalidInputError
from almanac.core.events import (
    EventError,
    after_matches,
    event_identity,
    event_key,
    map_params,
    matches,
    parse_event,
)

from .trigger_support import ESCALATE, OPENED, compile_one

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


# --- after triggers ---------------------------------------------------------------------------


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
