"""Built-in ClusterJobTemplates: valid manifests whose paramsSchema matches the executor.

The JSON Schema (checked at admission) and the payload's pydantic model (checked in the
pod) must accept and refuse the same params; otherwise a run admitted by the API server
would fail in its pod, or a good one would be refused.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from almanac.core.errors import InvalidSpecError
from almanac.core.params import check_params_schema, validate_params
from almanac.core.templates import JobTemplateSpec
from almanac.executor.errors import InvalidParamsError
from almanac.executor.paramsmodel import ParamsModel, parse_params
from almanac.executor.payloads import PAYLOAD_TYPES
from almanac.executor.payloads.command import CommandParams
from almanac.executor.payloads.email import EmailParams
from almanac.executor.payloads.export import ExportParams
from almanac.executor.payloads.http import HttpParams
from almanac.executor.payloads.message import MessageParams
from almanac.executor.payloads.sql import SqlParams

TEMPLATES = Path(__file__).resolve().parents[3] / "config" / "templates"
MODELS: dict[str, type[ParamsModel]] = {
    "http": HttpParams,
    "message": MessageParams,
    "command": CommandParams,
    "export": ExportParams,
    "email": EmailParams,
    "sql": SqlParams,
}
SECRET = {"secretKeyRef": {"name": "creds", "key": "value"}}
SOURCES = [{"application": "inventory", "resource": "hosts", "filters": {"os": "RHEL"}}]
EXPORT = {"baseUrl": "https://x.example/api/export/v1", "name": "n", "format": "csv"}
MAIL = {"host": "smtp.example", "from": "a@example.com", "to": ["b@example.com"]}
MAIL |= {"subject": "s", "body": "b"}

EXAMPLES: list[Any] = [
    pytest.param("http", {"url": "https://example.com"}, True, id="http-minimal"),
    pytest.param(
        "http",
        {
            "method": "POST",
            "url": "http://h.example/x",
            "headers": {"A": SECRET, "B": "v"},
            "body": {"k": [1]},
            "timeout": "10s",
            "expectedStatus": [201],
            "responseExcerptBytes": 100,
            "followRedirects": 2,
        },
        True,
        id="http-full",
    ),
    pytest.param("http", {"url": "ftp://h.example"}, False, id="http-ftp"),
    pytest.param("http", {"url": "https://e.com", "method": "FETCH"}, False, id="http-method"),
    pytest.param("http", {"url": "https://e.com", "timeout": "10 s"}, False, id="http-timeout"),
    pytest.param("http", {"url": "https://e.com", "headers": {"A": 1}}, False, id="http-header"),
    pytest.param("http", {"url": "https://e.com", "extra": 1}, False, id="http-unknown"),
    pytest.param("message", {"topic": "t", "value": {"a": 1}, "key": "k"}, True, id="msg-ok"),
    pytest.param("message", {"topic": "t"}, False, id="msg-no-value"),
    pytest.param("message", {"topic": "a b", "value": "v"}, False, id="msg-bad-topic"),
    pytest.param("command", {"command": ["ls", "-l"], "env": {"A": SECRET}}, True, id="cmd-argv"),
    pytest.param("command", {"command": "ls | wc", "shell": True}, True, id="cmd-shell"),
    pytest.param("command", {"command": "ls -l"}, False, id="cmd-string-without-shell"),
    pytest.param("command", {"command": ["ls"], "shell": True}, False, id="cmd-list-with-shell"),
    pytest.param("command", {"command": []}, False, id="cmd-empty"),
    pytest.param("export", EXPORT | {"sources": SOURCES}, True, id="export-ok"),
    pytest.param("export", EXPORT | {"sources": []}, False, id="export-no-sources"),
    pytest.param("export", EXPORT | {"sources": SOURCES, "format": "xml"}, False, id="export-xml"),
    pytest.param("export", EXPORT | {"sources": SOURCES, "maxPolls": 0}, False, id="export-polls"),
    pytest.param("email", MAIL, True, id="email-minimal"),
    pytest.param("email", MAIL | {"username": "u", "password": SECRET}, True, id="email-login"),
    pytest.param("email", MAIL | {"username": "u", "password": "pw"}, False, id="email-inline-pw"),
    pytest.param("email", MAIL | {"username": "u"}, False, id="email-user-without-password"),
    pytest.param("email", MAIL | {"security": "tls"}, False, id="email-bad-security"),
    pytest.param("sql", {"dsn": SECRET, "statement": "SELECT 1"}, True, id="sql-minimal"),
    pytest.param(
        "sql",
        {"dsn": SECRET, "statement": "SELECT %s", "parameters": [1], "dryRun": True},
        True,
        id="sql-full",
    ),
    pytest.param("sql", {"dsn": "postgresql://u:p@h/db", "statement": "x"}, False, id="sql-dsn"),
    pytest.param("sql", {"dsn": SECRET}, False, id="sql-no-statement"),
]


def load(name: str) -> dict[str, Any]:
    document: dict[str, Any] = yaml.safe_load((TEMPLATES / f"{name}.yaml").read_text())
    return document


def test_every_payload_type_has_a_template() -> None:
    assert {path.stem for path in TEMPLATES.glob("*.yaml")} == set(PAYLOAD_TYPES) == set(MODELS)


@pytest.mark.parametrize("name", sorted(MODELS))
def test_template_is_a_valid_cluster_job_template(name: str) -> None:
    document = load(name)
    assert document["apiVersion"] == "almanac.dev/v1alpha1"
    assert document["kind"] == "ClusterJobTemplate"
    assert document["metadata"]["name"] == name
    spec = JobTemplateSpec.model_validate(document["spec"])
    assert spec.command == ["python3", "-m", "almanac.executor"]
    assert spec.params_schema is not None
    check_params_schema(spec.params_schema)


@pytest.mark.parametrize("name", sorted(MODELS))
def test_schema_declares_exactly_the_model_fields(name: str) -> None:
    schema = load(name)["spec"]["paramsSchema"]
    model = MODELS[name]
    fields = {field.alias or key: field for key, field in model.model_fields.items()}
    assert set(schema["properties"]) == set(fields)
    assert set(schema["required"]) == {alias for alias, f in fields.items() if f.is_required()}
    assert schema["additionalProperties"] is False


@pytest.mark.parametrize(("name", "params", "valid"), EXAMPLES)
def test_schema_and_model_agree(name: str, params: dict[str, Any], valid: bool) -> None:
    schema = load(name)["spec"]["paramsSchema"]
    try:
        validate_params(params, schema)
        schema_ok = True
    except InvalidSpecError:
        schema_ok = False
    try:
        parse_params(MODELS[name], params)
        model_ok = True
    except InvalidParamsError:
        model_ok = False
    assert (schema_ok, model_ok) == (valid, valid)
