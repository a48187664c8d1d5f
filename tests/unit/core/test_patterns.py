"""paramsSchema patterns that can backtrack for long are refused from their parsed form;
the patterns schemas commonly hold (Kubernetes names, the chart's own) stay valid."""

from __future__ import annotations

import re
import time

import pytest

from almanac.core.patterns import MAX_PATTERN, anchored, pattern_problem

SAFE = [
    pytest.param(r"^https?://", id="url-prefix"),
    pytest.param(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$", id="dns"),
    pytest.param(r"^[a-z0-9]+([._/:-][a-z0-9]+)*$", id="chart-image-repository"),
    pytest.param(r"^([^,:\s]+:[0-9]{1,5}(,[^,:\s]+:[0-9]{1,5})*)?$", id="chart-bootstrap"),
    pytest.param(r"^([0-9]+d)?([0-9]+h)?([0-9]+m)?([0-9]+s)?([0-9]+ms)?$", id="duration"),
    pytest.param(r"^\d{1,3}(\.\d{1,3}){3}$", id="ipv4"),
    pytest.param(r"^[\w.+-]+@[\w-]+(\.[\w-]+)+$", id="email"),
    pytest.param(r"(?i)^[a-z]+(-[a-z]+)*$", id="ignorecase-words"),
    pytest.param(r"^(?=.*[A-Z])(?=.*\d).{8,}$", id="password-lookaheads"),
    pytest.param(r"^(GET|POST|PUT|DELETE)$", id="alternatives"),
    pytest.param(r"(ab|cd)*", id="repeated-alternation-distinct-starts"),
    pytest.param(r"^\s*\d+\s*$", id="spaced-number"),
    pytest.param(r"a.*b", id="one-repeat"),
]
UNSAFE = [
    pytest.param(r"(a+)+$", "nothing marks where one repetition ends", id="nested-plus"),
    pytest.param(r"(a*)*", "can match the empty string", id="nested-star"),
    pytest.param(r"(a|ab)*c", "alternation whose branches can match", id="alternation-in-star"),
    pytest.param(r"^(\w+\s?)*$", "nothing marks where one repetition ends", id="words"),
    pytest.param(r"(?:a{1,3}){1,100}", "nothing marks", id="bounded-nested"),
    pytest.param(r"\d*\d*x", "two repeats in a row", id="adjacent-stars"),
    pytest.param(r"[a-z]+a[a-z]+x", "two repeats in a row", id="overlapping-separator"),
    pytest.param(r"\d+\.?\d+", "two repeats in a row", id="optional-separator"),
    pytest.param(r"(a?){30}a{30}", "two repeats in a row", id="optional-chain"),
    pytest.param(r"(a)\1", "backreferences", id="backreference"),
    pytest.param(r"(?P<x>a)(?(x)b|c)", "backreferences", id="conditional"),
    pytest.param("[", "not a valid regular expression", id="invalid"),
]


@pytest.mark.parametrize("pattern", SAFE)
def test_common_patterns_are_accepted(pattern: str) -> None:
    assert pattern_problem(pattern) is None


@pytest.mark.parametrize(("pattern", "why"), UNSAFE)
def test_patterns_that_backtrack_are_refused_saying_why(pattern: str, why: str) -> None:
    problem = pattern_problem(pattern)
    assert problem is not None
    assert why in problem


def test_a_pattern_over_the_length_cap_is_refused() -> None:
    assert pattern_problem("a" * MAX_PATTERN) is None
    problem = pattern_problem("a" * (MAX_PATTERN + 1))
    assert problem is not None
    assert f"limited to {MAX_PATTERN:,}" in problem


@pytest.mark.parametrize("pattern", [p for p in SAFE if anchored(str(p.values[0]))])
def test_an_accepted_anchored_pattern_searches_a_long_string_quickly(pattern: str) -> None:
    """Unanchored patterns are only searched in short strings (see core.params)."""
    subjects = ["a" * 65_536 + "!", "1." * 32_768 + "!", " " * 65_536 + "!"]
    started = time.monotonic()
    for subject in subjects:
        re.search(pattern, subject)
    assert time.monotonic() - started < 1.0  # ~5 ms measured; refused shapes take minutes


@pytest.mark.parametrize(
    ("pattern", "expected"),
    [("^a", True), (r"\Aa", True), ("a", False), ("(?m)^a", False), ("(^a)", False)],
)
def test_anchored_means_only_one_start_position(pattern: str, expected: bool) -> None:
    assert anchored(pattern) is expected
