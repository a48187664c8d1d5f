"""Every manifest in ``examples/`` parses and passes the admission check as written.

Examples are copied by users: one that the webhook would refuse (a renamed field, params
its template's schema refuses) teaches the wrong thing. Each Almanac object goes through
the webhook's pure decision and, for ScheduledJobs, the template check against the
JobTemplate of the same file.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Final

import pytest
import yaml

from almanac.core.vocabulary import GROUP
from almanac.operator.admissionreads import TemplateRules, template_problems
from almanac.operator.webhook import review
from almanac.templates import builtin_params_schema

EXAMPLES: Final = Path(__file__).resolve().parents[2] / "examples"
FILES: Final = sorted(EXAMPLES.glob("*.yaml"))


def _documents(path: Path) -> list[dict[str, Any]]:
    return [doc for doc in yaml.safe_load_all(path.read_text(encoding="utf-8")) if doc]


def _request(obj: dict[str, Any]) -> dict[str, Any]:
    return {
        "uid": "example",
        "kind": {"group": GROUP, "version": "v1alpha1", "kind": obj["kind"]},
        "namespace": "reports",
        "name": obj["metadata"]["name"],
        "operation": "CREATE",
        "userInfo": {"username": "admin", "groups": ["system:masters"]},
        "object": obj,
    }


def test_there_are_the_readmes_first_job_and_a_pvc_and_a_private_registry() -> None:
    assert {p.name for p in FILES} >= {
        "hello.yaml",
        "jobtemplate-pvc.yaml",
        "jobtemplate-private-registry.yaml",
    }


@pytest.mark.parametrize("path", FILES, ids=[p.name for p in FILES])
async def test_an_example_passes_admission(path: Path) -> None:
    documents = _documents(path)
    ours = [d for d in documents if d["apiVersion"].startswith(f"{GROUP}/")]
    assert ours, f"{path.name} has no Almanac object"
    templates = {
        d["metadata"]["name"]: TemplateRules(None, d["spec"].get("paramsSchema"))
        for d in ours
        if d["kind"] == "JobTemplate"
    }
    # A built-in type (the README's first job) is checked against the schema Almanac ships.
    for obj in ours:
        name = obj["spec"].get("template") if obj["kind"] == "ScheduledJob" else None
        if name and name not in templates and (schema := builtin_params_schema(name)):
            templates[name] = TemplateRules(None, schema)

    async def lookup(namespace: str, name: str) -> TemplateRules | None:
        return templates.get(name)

    for obj in ours:
        request = _request(obj)
        answer = review(
            {"apiVersion": "admission.k8s.io/v1", "kind": "AdmissionReview", "request": request}
        )["response"]
        assert answer["allowed"], (obj["metadata"]["name"], answer.get("status"))
        if obj["kind"] == "ScheduledJob":
            assert obj["spec"]["template"] in templates, "a template of the file, or a built-in"
            assert await template_problems(request, lookup) == []
