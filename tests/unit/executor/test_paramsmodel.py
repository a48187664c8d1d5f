"""Payload params errors name ``params.<path>`` once per field, with a fix."""

from __future__ import annotations

from typing import Any

import pytest

from almanac.executor.errors import InvalidParamsError
from almanac.executor.paramsmodel import format_path, parse_params
from almanac.executor.payloads.command import CommandParams
from almanac.executor.payloads.export import ExportParams
from almanac.executor.payloads.http import HttpParams


def problems(model: type[Any], raw: dict[str, Any]) -> dict[str, str]:
    with pytest.raises(InvalidParamsError) as caught:
        parse_params(model, raw)
    return dict(caught.value.problems)


def test_format_path_joins_keys_and_indexes() -> None:
    assert format_path(["sources", 0, "application"]) == "params.sources[0].application"


def test_missing_required_field_is_named() -> None:
    assert problems(HttpParams, {}) == {"params.url": "required; add it"}


def test_unknown_field_lists_the_accepted_ones() -> None:
    found = problems(HttpParams, {"url": "https://example.com", "methd": "GET"})
    assert "unknown field" in found["params.methd"]
    assert "method" in found["params.methd"]


def test_nested_list_item_is_named_by_index() -> None:
    raw = {
        "baseUrl": "https://export.example.com/api/export/v1",
        "name": "n",
        "format": "csv",
        "sources": [{"application": "inventory", "resource": "hosts"}, {"resource": "x"}],
    }
    assert problems(ExportParams, raw) == {"params.sources[1].application": "required; add it"}


def test_secret_reference_errors_point_inside_the_reference() -> None:
    raw = {"url": "https://example.com", "headers": {"Authorization": {"secretKeyRef": {}}}}
    found = problems(HttpParams, raw)
    assert set(found) == {
        "params.headers.Authorization.secretKeyRef.name",
        "params.headers.Authorization.secretKeyRef.key",
    }


def test_model_level_rule_is_reported_on_params() -> None:
    found = problems(CommandParams, {"command": "ls -l"})
    assert "non-empty argv list" in found["params"]


def test_invalid_params_error_is_one_sentence_per_problem() -> None:
    with pytest.raises(InvalidParamsError) as caught:
        parse_params(HttpParams, {"url": "ftp://x.example", "timeout": "soon"})
    assert caught.value.code == "invalid_params"
    assert "params.url:" in str(caught.value)
    assert "params.timeout:" in str(caught.value)
