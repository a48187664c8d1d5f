"""CEL expressions that describe too much work per event are refused when compiled: too
long, comprehensions nested inside one another, or too many of them."""

from __future__ import annotations

import pytest

from almanac.core import InvalidInputError, InvalidSpecError
from almanac.core.celbounds import MAX_COMPREHENSIONS, MAX_SOURCE
from almanac.core.expressions import compile_expression
from almanac.core.specs import check_spec

FIELD = "spec.triggers[0].kafka.filter"
#: The issue's shape: 52 characters, 2.4 s on a 904-byte event (430 numbers in items).
PATHOLOGICAL = "event.items.all(a, event.items.map(b, b).size() > 0)"


def test_the_pathological_filter_is_refused_naming_both_comprehensions() -> None:
    with pytest.raises(InvalidInputError) as refused:
        compile_expression(PATHOLOGICAL, FIELD)
    assert refused.value.field == FIELD
    assert refused.value.message.startswith("map() at 1:32 is inside all() at 1:13")
    assert "use one comprehension per list" in refused.value.message


@pytest.mark.parametrize(
    "source",
    [
        pytest.param("event.xs.exists(x, [1, 2].exists(y, y == x))", id="literal-list-inside"),
        pytest.param("event.xs.map(x, event.ys.filter(y, y > x))", id="map-filter"),
        pytest.param("event.a.all(x,\n  event.b.exists_one(y, y == x))", id="second-line"),
        pytest.param("{'k': event.xs.map(x, {'v': event.ys.all(y, y)})}", id="inside-a-map"),
        pytest.param("br'\\' == b'' || event.a.all(x, event.b.all(y, y))", id="after-raw-bytes"),
    ],
)
def test_a_comprehension_inside_another_is_refused(source: str) -> None:
    with pytest.raises(InvalidInputError, match="is inside"):
        compile_expression(source, FIELD)


@pytest.mark.parametrize(
    "source",
    [
        pytest.param('event.type == "ticket.opened"', id="readme-filter"),
        pytest.param(
            'event.type == "ticket.created" && event.priority in ["high", "urgent"]',
            id="readme-escalation",
        ),
        pytest.param(
            '{"user": event.user, "mail": ["welcome", "tips", "check-in", "offer"][step]}',
            id="readme-drip-params",
        ),
        pytest.param("event.tags.map(t, t + '!')", id="one-map"),
        pytest.param("event.xs.map(x, x * 2).exists(y, y > 3)", id="chained"),
        pytest.param("event.a.exists(x, x) || event.b.all(y, y)", id="side-by-side"),
        pytest.param("event.note == 'a.exists(b, c.all(d, d))'", id="macros-in-a-string"),
        pytest.param('event.x.exists(y, y == "(")  // ) .all(z, z)', id="comment-and-paren"),
        pytest.param("r'\\\\'.size() > 0 && event.xs.all(x, x)", id="raw-string"),
        pytest.param("size(br'\\') > 0 && event.xs.all(x, x)", id="raw-bytes-ending-in-backslash"),
    ],
)
def test_expressions_people_write_stay_valid(source: str) -> None:
    assert compile_expression(source, FIELD).source == source


def test_an_expression_over_the_length_cap_is_refused_before_it_is_parsed() -> None:
    source = "event.a == '" + "x" * MAX_SOURCE + "'"
    with pytest.raises(InvalidInputError) as refused:
        compile_expression(source, FIELD)
    assert f"expressions are limited to {MAX_SOURCE:,}" in refused.value.message
    unparsable = "(" * (MAX_SOURCE + 1)
    with pytest.raises(InvalidInputError, match="limited to"):
        compile_expression(unparsable, FIELD)


def test_more_comprehensions_than_the_cap_are_refused() -> None:
    allowed = " || ".join(f"event.x{i}.exists(v, v)" for i in range(MAX_COMPREHENSIONS))
    compile_expression(allowed, FIELD)
    with pytest.raises(InvalidInputError, match=f"at most {MAX_COMPREHENSIONS} are allowed"):
        compile_expression(allowed + " || event.y.exists(v, v)", FIELD)


def test_a_spec_with_the_pathological_filter_is_refused_at_its_field() -> None:
    trigger = {"name": "t", "kafka": {"topic": "orders", "filter": PATHOLOGICAL}}
    with pytest.raises(InvalidSpecError) as refused:
        check_spec({"template": "http", "triggers": [trigger]})
    assert [p.field for p in refused.value.problems] == ["spec.triggers[0].kafka.filter"]
