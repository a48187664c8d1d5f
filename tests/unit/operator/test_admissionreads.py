"""Admission judges a ScheduledJob's params against its template, built-in or not, with
the check the facade and the operator's launches make; each problem names the parameter."""

from __future__ import annotations

from typing import Any

import pytest

from almanac.core.admission import TemplateRules
from almanac.core.namespaces import NamespacePolicy
from almanac.operator.admissionreads import namespace_problems, template_problems
from almanac.templates import builtin_params_schema


def request(spec: dict[str, Any], namespace: str = "team-a") -> dict[str, Any]:
    return {"namespace": namespace, "object": {"spec": spec}}


async def builtins(namespace: str, name: str) -> TemplateRules | None:
    schema = builtin_params_schema(name)
    return None if schema is None else TemplateRules(None, schema)


def job(template: str, params: dict[str, Any], **more: Any) -> dict[str, Any]:
    return {"template": template, "params": params, "schedule": {"cron": "0 2 * * *"}, **more}


@pytest.mark.parametrize(
    ("spec", "fields"),
    [
        pytest.param(job("command", {"command": 12}), {"spec.params.command"}, id="command"),
        pytest.param(
            job("http", {"url": 12345, "method": "FETCH"}),
            {"spec.params.url", "spec.params.method"},
            id="http",
        ),
        pytest.param(job("http", {}), {"spec.params.url"}, id="http-without-url"),
    ],
)
async def test_built_in_params_are_checked_naming_the_parameter(
    spec: dict[str, Any], fields: set[str]
) -> None:
    problems = await template_problems(request(spec), builtins)
    assert {p.field for p in problems} >= fields


@pytest.mark.parametrize(
    "spec",
    [
        pytest.param(job("http", {"url": "https://example.com/"}), id="good-params"),
        pytest.param(
            {"template": "http", "triggers": [{"after": {"scheduledJob": "x"}}]}, id="trigger-only"
        ),
        pytest.param(job("not-installed-yet", {"x": 1}), id="template-missing"),
    ],
)
async def test_what_admission_lets_through(spec: dict[str, Any]) -> None:
    assert await template_problems(request(spec), builtins) == []


async def test_a_cluster_template_refuses_other_namespaces() -> None:
    async def fenced(namespace: str, name: str) -> TemplateRules:
        return TemplateRules(["team-b"], None)

    [problem] = await template_problems(request(job("report", {})), fenced)
    assert problem.field == "spec.template"


async def test_namespace_policy_is_read_only_when_the_spec_needs_it() -> None:
    async def never(namespace: str) -> NamespacePolicy:
        raise AssertionError("read for a job that names no topic and no organisation")

    assert await namespace_problems(request(job("http", {"url": "https://x/"})), never) == []
