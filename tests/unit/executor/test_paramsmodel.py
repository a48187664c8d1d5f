"""Payload params errors name ``params.<path>`` once per field, with a fix."""

from __future__ import annotations

from typing import Any

import pytest

from almanac.executor.errors import InvalidParamsError
from almanac.executor.paramsmodel import SECRET_REF_SHAPE, format_path, parse_params
from almanac.executor.payloads.command import CommandParams
from almanac.executor.payloads.email import EmailParams
from almanac.executor.payloads.export import ExportParams
from almanac.executor.payloads.http import HttpParams
from almanac.executor.payloads.sql import SqlParams


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


def test_model_level_rule_names_the_field_it_is_about() -> None:
    found = problems(CommandParams, {"command": "ls -l"})
    assert "non-empty argv list" in found["params.command"]


def test_email_rules_name_the_param_and_the_list_item() -> None:
    base = {"host": "smtp.example", "from": "a@example.com", "subject": "s", "body": "b"}
    assert set(problems(EmailParams, base | {"to": ["ok@example.com", "not-an-address"]})) == {
        "params.to[1]"
    }
    assert set(problems(EmailParams, base | {"to": ["b@example.com"], "username": "u"})) == {
        "params.password"
    }


@pytest.mark.parametrize(
    ("model", "raw", "field", "message"),
    [
        pytest.param(
            HttpParams,
            {"url": 42},
            "params.url",
            "must be a string, got a number",
            id="wrong-type",
        ),
        pytest.param(
            CommandParams,
            {"command": ["true"], "timeout": 300},
            "params.timeout",
            'must be a duration such as "30s", "5m" or "1h30m", got a number',
            id="duration-as-number",
        ),
        pytest.param(
            HttpParams,
            {"url": "https://example.com", "headers": {"X-Token": 7}},
            "params.headers.X-Token",
            f"must be a string or a Secret reference {SECRET_REF_SHAPE}, got a number",
            id="union-alternatives-merged",
        ),
        pytest.param(
            HttpParams,
            {"url": "https://example.com", "method": "FETCH"},
            "params.method",
            "must be one of 'GET', 'POST', 'PUT', 'PATCH', 'DELETE', 'HEAD' or 'OPTIONS', "
            "got 'FETCH'",
            id="enum-echoes-the-value",
        ),
        pytest.param(
            HttpParams,
            {"url": "https://example.com", "followRedirects": 9},
            "params.followRedirects",
            "must be less than or equal to 5",
            id="bound",
        ),
        pytest.param(
            HttpParams,
            {"url": "ftp://files.example"},
            "params.url",
            "must be an http:// or https:// URL with a host, e.g. https://example.com",
            id="custom-rule-without-pydantic-prefix",
        ),
    ],
)
def test_problem_says_what_is_accepted_and_what_was_given(
    model: type[Any], raw: dict[str, Any], field: str, message: str
) -> None:
    assert problems(model, raw) == {field: message}


def test_inline_secret_is_refused_without_echoing_it() -> None:
    raw = {"dsn": "postgresql://app:hunter22@db/app", "statement": "SELECT 1"}
    found = problems(SqlParams, raw)
    assert found["params.dsn"].startswith(f"must be a Secret reference {SECRET_REF_SHAPE}")
    assert "never write a secret value in params" in found["params.dsn"]
    assert "hunter22" not in str(found)


def test_invalid_params_error_is_one_sentence_per_problem() -> None:
    with pytest.raises(InvalidParamsError) as caught:
        parse_params(HttpParams, {"url": "ftp://x.example", "timeout": "soon"})
    assert caught.value.code == "invalid_params"
    assert "params.url:" in str(caught.value)
    assert "params.timeout:" in str(caught.value)
