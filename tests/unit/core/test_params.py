"""Params are checked against the template's JSON Schema, each problem at its exact path."""

from __future__ import annotations

from typing import Any

import pytest

from almanac.core.errors import InvalidSpecError
from almanac.core.params import (
    SecretUse,
    check_params_schema,
    find_secret_refs,
    params_problems,
    pattern_problems,
    validate_params,
)
from almanac.core.patterns import MAX_MATCHED

SCHEMA: dict[str, Any] = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "type": "object",
    "additionalProperties": False,
    "required": ["url"],
    "properties": {
        "url": {"type": "string", "pattern": "^https?://"},
        "method": {"enum": ["GET", "POST"]},
        "retries": {"type": "integer", "minimum": 0, "maximum": 5},
        "tags": {"type": "array", "maxItems": 2, "items": {"type": "string"}},
        "sources": {
            "type": "array",
            "items": {
                "type": "object",
                "required": ["application"],
                "properties": {"application": {"type": "string", "minLength": 1}},
            },
        },
    },
}


def problems(params: dict[str, Any]) -> dict[str, str]:
    return {p.field: p.message for p in params_problems(params, SCHEMA)}


def test_valid_params_pass() -> None:
    validate_params({"url": "https://example.com", "method": "GET"}, SCHEMA)


def test_no_schema_accepts_anything() -> None:
    validate_params({"anything": [1, 2]}, None)


@pytest.mark.parametrize(
    ("params", "field", "fix"),
    [
        pytest.param({}, "spec.params.url", "is required by the template; add it", id="missing"),
        pytest.param(
            {"url": "https://e.com", "methd": "GET"},
            "spec.params.methd",
            "is not a parameter of this template; remove it or fix its spelling "
            "(accepted: method, retries, sources, tags, url)",
            id="unknown",
        ),
        pytest.param({"url": 42}, "spec.params.url", "must be a string, not integer", id="type"),
        pytest.param(
            {"url": "ftp://x"},
            "spec.params.url",
            "'ftp://x' does not match the pattern '^https?://'",
            id="pattern",
        ),
        pytest.param(
            {"url": "http://x", "method": "PUT"},
            "spec.params.method",
            "'PUT' is not allowed; use one of 'GET', 'POST'",
            id="enum",
        ),
        pytest.param(
            {"url": "http://x", "retries": 9},
            "spec.params.retries",
            "must be <= 5, got 9",
            id="maximum",
        ),
        pytest.param(
            {"url": "http://x", "tags": ["a", "b", "c"]},
            "spec.params.tags",
            "must have at most 2 items",
            id="max-items",
        ),
        pytest.param(
            {"url": "http://x", "sources": [{"application": "a"}, {}]},
            "spec.params.sources[1].application",
            "is required by the template; add it",
            id="nested-index",
        ),
    ],
)
def test_problem_names_the_parameter_and_the_fix(
    params: dict[str, Any], field: str, fix: str
) -> None:
    assert problems(params) == {field: fix}


def test_all_problems_are_reported_at_once() -> None:
    with pytest.raises(InvalidSpecError) as caught:
        validate_params({"method": "PUT", "retries": -1}, SCHEMA)
    fields = [p.field for p in caught.value.problems]
    assert sorted(fields) == ["spec.params.method", "spec.params.retries", "spec.params.url"]
    assert caught.value.code == "invalid_spec"
    assert "spec.params.url: is required" in str(caught.value)


def test_field_prefix_is_configurable() -> None:
    assert [p.field for p in params_problems({}, SCHEMA, "params")] == ["params.url"]


def test_long_values_are_shortened_in_messages() -> None:
    message = problems({"url": "x" * 500})["spec.params.url"]
    assert len(message) < 120


def test_invalid_schema_is_refused_naming_its_field() -> None:
    with pytest.raises(InvalidSpecError) as caught:
        check_params_schema({"type": "object", "properties": {"a": {"type": "strng"}}})
    assert caught.value.field.startswith("spec.paramsSchema")
    assert "not a valid JSON Schema" in caught.value.message


def test_find_secret_refs_lists_every_reference_with_its_path() -> None:
    params = {
        "url": "https://example.com",
        "headers": {"Authorization": {"secretKeyRef": {"name": "hook", "key": "token"}}},
        "targets": [{"password": {"secretKeyRef": {"name": "db", "key": "pw"}}}],
        "notARef": {"secretKeyRef": {"name": "x", "key": "y"}, "other": 1},
    }
    assert find_secret_refs(params) == [
        SecretUse("db", "pw", "spec.params.targets[0].password"),
        SecretUse("hook", "token", "spec.params.headers.Authorization"),
    ]


def test_a_template_schema_replaced_by_an_edited_one_is_checked_against_the_new_one() -> None:
    first: dict[str, Any] = {"type": "object", "properties": {"n": {"type": "integer"}}}
    params_problems({"n": 1}, first)  # cached by identity from now on
    assert params_problems({"n": 1}, first) == []
    edited: dict[str, Any] = {"type": "object", "properties": {"n": {"type": "string"}}}
    assert [p.field for p in params_problems({"n": 1}, edited)] == ["spec.params.n"]
    assert params_problems({"n": 1}, first) == []


BACKTRACKING: dict[str, Any] = {
    "type": "object",
    "properties": {
        "name": {"type": "string", "pattern": "^(a+)+$"},
        "note": {"type": "string", "pattern": "^ok$", "default": {"pattern": "(a+)+"}},
        "pattern": {"enum": ["(x*)*"]},  # a parameter named pattern, data not a regex
    },
    "patternProperties": {"(b|bc)*": {"type": "string"}},
}


def test_patterns_that_backtrack_are_refused_at_their_field() -> None:
    found = {p.field: p.message for p in pattern_problems(BACKTRACKING)}
    assert sorted(found) == [
        "spec.paramsSchema.patternProperties['(b|bc)*']",
        "spec.paramsSchema.properties.name.pattern",
    ]
    assert all(m.endswith("fix the template's paramsSchema") for m in found.values())
    with pytest.raises(InvalidSpecError) as caught:
        check_params_schema(BACKTRACKING)
    assert len(caught.value.problems) == 2


def test_a_template_admitted_before_the_vetting_refuses_params_instead_of_hanging() -> None:
    with pytest.raises(InvalidSpecError) as caught:
        validate_params({"name": "a" * 40 + "!"}, BACKTRACKING)  # minutes, if matched
    fields = [p.field for p in caught.value.problems]
    assert "spec.paramsSchema.properties.name.pattern" in fields


UNANCHORED: dict[str, Any] = {
    "type": "object",
    "properties": {
        "word": {"type": "string", "pattern": "(\\w|\\d)+$"},
        "blob": {"type": "string", "pattern": "^[A-Za-z0-9+/=]+$"},
    },
    "patternProperties": {"^x-": {"type": "string"}},
    "additionalProperties": False,
}


def test_a_long_string_is_refused_before_an_unanchored_search_of_it() -> None:
    long = "a" * (MAX_MATCHED + 1) + "!"
    found = {p.field: p.message for p in params_problems({"word": long}, UNANCHORED)}
    assert list(found) == ["spec.params.word"]
    assert f"may have at most {MAX_MATCHED:,}" in found["spec.params.word"]
    assert params_problems({"word": "a" * MAX_MATCHED}, UNANCHORED) == []


def test_an_anchored_pattern_checks_long_strings() -> None:
    assert params_problems({"blob": "QUJD" * 50_000}, UNANCHORED) == []
    assert [p.field for p in params_problems({"blob": "!" * 50_000}, UNANCHORED)] == [
        "spec.params.blob"
    ]


def test_a_property_name_too_long_to_search_is_refused() -> None:
    long = "x-" + "a" * MAX_MATCHED
    found = params_problems({long: "v"}, UNANCHORED)
    assert [p.field for p in found] == ["spec.params"]
    assert "property name of" in found[0].message


def test_only_formats_with_linear_checks_are_asserted() -> None:
    schema = {
        "type": "object",
        "properties": {"ip": {"format": "ipv4"}, "link": {"format": "uri"}},
    }
    assert [p.field for p in params_problems({"ip": "300.1.1.1"}, schema)] == ["spec.params.ip"]
    assert params_problems({"link": "not a uri at all"}, schema) == []
