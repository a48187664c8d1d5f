"""CEL expressions: refused at compile time with their field, position and the fix."""

from __future__ import annotations

import pytest

from almanac.core import InvalidInputError
from almanac.core.expressions import compile_expression


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
