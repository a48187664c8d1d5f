"""Which template a job runs and whether it may: one answer for operator and facade."""

from __future__ import annotations

import pytest

from almanac.core.templateuse import choose_template, namespace_refusal, use_refusal

SCHEMA = {"type": "object", "required": ["url"], "properties": {"url": {"type": "string"}}}


@pytest.mark.parametrize(
    ("namespaced", "cluster", "builtin", "chosen"),
    [
        pytest.param("ns", "cluster", "builtin", "ns", id="namespace-first"),
        pytest.param(None, "cluster", "builtin", "cluster", id="then-cluster"),
        pytest.param(None, None, "builtin", "builtin", id="then-builtin"),
        pytest.param(None, None, None, None, id="none"),
    ],
)
def test_lookup_order(
    namespaced: str | None, cluster: str | None, builtin: str | None, chosen: str | None
) -> None:
    assert choose_template(namespaced, cluster, builtin) == chosen


def test_a_cluster_template_serves_only_its_allowed_namespaces() -> None:
    assert namespace_refusal("http", None, "team-a") is None
    assert namespace_refusal("http", [], "team-a") is None
    assert namespace_refusal("http", ["team-a"], "team-a") is None
    refused = namespace_refusal("http", ["team-b"], "team-a")
    assert refused is not None
    assert refused.field == "spec.template"
    assert "may not be used in namespace 'team-a'" in refused.message


def test_params_are_checked_only_when_complete() -> None:
    refused = use_refusal("http", None, "team-a", {}, SCHEMA)
    assert refused is not None
    assert "url" in str(refused)
    assert use_refusal("http", None, "team-a", {"url": "https://x"}, SCHEMA) is None
    assert use_refusal("http", None, "team-a", None, SCHEMA) is None  # trigger-only, for now
    assert use_refusal("http", ["b"], "team-a", {"url": "https://x"}, SCHEMA) is not None
