"""The duration grammar: ``<int><unit>`` groups, units d h m s ms, one parser."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest

from almanac.core import DURATION_PATTERN, InvalidDurationError, format_duration, parse_duration


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        pytest.param("500ms", timedelta(milliseconds=500), id="milliseconds"),
        pytest.param("90s", timedelta(seconds=90), id="seconds-above-60"),
        pytest.param("1h30m", timedelta(hours=1, minutes=30), id="hours-and-minutes"),
        pytest.param("2d", timedelta(days=2), id="days"),
        pytest.param(
            "1d2h3m4s5ms",
            timedelta(days=1, hours=2, minutes=3, seconds=4, milliseconds=5),
            id="every-unit",
        ),
        pytest.param("5m", timedelta(minutes=5), id="minutes-not-ms"),
        pytest.param("007s", timedelta(seconds=7), id="leading-zeros"),
    ],
)
def test_parse_duration_accepts_grammar(text: str, expected: timedelta) -> None:
    assert parse_duration(text) == expected
    assert re.fullmatch(DURATION_PATTERN, text), "the CRD pattern must accept it too"


@pytest.mark.parametrize(
    "text",
    [
        pytest.param("", id="empty"),
        pytest.param("-5s", id="negative"),
        pytest.param("1.5h", id="fraction"),
        pytest.param("10", id="no-unit"),
        pytest.param("5w", id="unknown-unit"),
        pytest.param("30m1h", id="out-of-order"),
        pytest.param("1h 30m", id="space"),
        pytest.param("PT5M", id="iso8601"),
        pytest.param("s", id="unit-only"),
        pytest.param("5s\n", id="trailing-newline"),
    ],
)
def test_parse_duration_refuses_garbage_naming_field(text: str) -> None:
    with pytest.raises(InvalidDurationError) as caught:
        parse_duration(text, "spec.timeout")
    assert caught.value.field == "spec.timeout"
    assert caught.value.code == "invalid_duration"
    assert "e.g." in caught.value.message


@pytest.mark.parametrize("text", ["0s", "0ms", "0d0h"])
def test_parse_duration_refuses_zero_unless_allowed(text: str) -> None:
    with pytest.raises(InvalidDurationError, match="zero"):
        parse_duration(text, "spec.schedule.every")
    assert parse_duration(text, allow_zero=True) == timedelta(0)


def test_parse_duration_refuses_absurd_length() -> None:
    with pytest.raises(InvalidDurationError, match="too long"):
        parse_duration("99999999d")


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (timedelta(seconds=90), "1m30s"),
        (timedelta(0), "0s"),
        (timedelta(days=1, milliseconds=1), "1d1ms"),
    ],
)
def test_format_duration_round_trips(value: timedelta, text: str) -> None:
    assert format_duration(value) == text
    assert parse_duration(text, allow_zero=True) == value
