"""An export may name only its namespace's organisation (one check for facade and webhook)."""

from __future__ import annotations

from typing import Any

import pytest

from almanac.core.orgs import foreign_org_problem, named_org


def export(**params: Any) -> dict[str, Any]:
    return {"template": "export", "params": params}


@pytest.mark.parametrize(
    ("spec", "named"),
    [
        pytest.param(export(orgId="42"), "42", id="export-naming-one"),
        pytest.param(export(), None, id="export-naming-none"),
        pytest.param({"template": "http", "params": {"orgId": "42"}}, None, id="not-an-export"),
        pytest.param({"template": "export", "params": "bad"}, None, id="params-not-an-object"),
    ],
)
def test_the_organisation_an_export_names(spec: dict[str, Any], named: Any) -> None:
    assert named_org(spec) == named


@pytest.mark.parametrize(
    ("spec", "org"),
    [
        pytest.param(export(orgId="42"), "42", id="its-own-organisation"),
        pytest.param(export(), "42", id="none-named"),
        pytest.param(export(), None, id="none-named-no-organisation"),
        pytest.param({"template": "http", "params": {"orgId": "7"}}, "42", id="not-an-export"),
    ],
)
def test_an_export_of_its_own_organisation_passes(spec: dict[str, Any], org: str | None) -> None:
    assert foreign_org_problem(spec, org, "spec.params.orgId", "fix it") is None


def test_an_export_naming_another_organisation_is_refused_naming_field_and_fix() -> None:
    problem = foreign_org_problem(export(orgId="7"), "42", "spec.params.orgId", "set it to '42'")
    assert problem is not None
    assert problem.field == "spec.params.orgId"
    assert problem.message == (
        "names organisation '7', but an export runs as its namespace's organisation '42'; "
        "set it to '42'"
    )


def test_a_namespace_of_no_organisation_may_name_none() -> None:
    problem = foreign_org_problem(export(orgId="7"), None, "spec.params.orgId", "label it")
    assert problem is not None
    assert "belongs to no organisation (no almanac.dev/org-id label); label it" in problem.message
