"""The chart is safe to share: the facade admits the platform gateway only (its
NetworkPolicy, its shared secret, fixed user roles), and kubectl tenants get Almanac's
objects through the built-in view/edit/admin roles in their own namespaces only."""

from __future__ import annotations

from typing import Any

import yaml

from almanac.api.orgnamespace import read_namespace_defaults
from tests.unit.gitops.chart import REPO, render

GATEWAY = {
    "facade.gateway.from[0].namespaceSelector.matchLabels.kubernetes\\.io/metadata\\.name": "gw",
    "facade.gateway.from[0].podSelector.matchLabels.app": "gateway",
    "facade.gateway.from[1].ipBlock.cidr": "192.0.2.0/24",
}
PEERS = [
    {
        "namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "gw"}},
        "podSelector": {"matchLabels": {"app": "gateway"}},
    },
    {"ipBlock": {"cidr": "192.0.2.0/24"}},
]
FACADE_PORT = [{"protocol": "TCP", "port": 8000}]
TENANT_ROLES = ("almanac-view", "almanac-edit", "almanac-admin")


def facade_ingress(values: dict[str, str]) -> list[dict[str, Any]]:
    (policy,) = [
        p
        for p in render(values)
        if p["kind"] == "NetworkPolicy"
        and p["spec"]["podSelector"]["matchLabels"]["app.kubernetes.io/component"] == "facade"
    ]
    ingress: list[dict[str, Any]] = policy["spec"]["ingress"]
    return ingress


def facade_env(values: dict[str, str]) -> dict[str, Any]:
    (facade,) = [
        d
        for d in render(values)
        if d["kind"] == "Deployment" and d["metadata"]["name"].endswith("-facade")
    ]
    container = facade["spec"]["template"]["spec"]["containers"][0]
    return {e["name"]: e.get("value", e.get("valueFrom")) for e in container["env"]}


#: The ops port (probes, the metrics scrape) is open like the operator's metrics port; it
#: serves nothing that reads an identity (tests/unit/api/test_client_certificates.py).
OPS_RULE = {"ports": [{"protocol": "TCP", "port": 8081}]}


def test_without_a_gateway_nobody_reaches_the_facade_api_port() -> None:
    assert facade_ingress({}) == [OPS_RULE]


def test_with_gateway_peers_only_they_reach_the_facade_port() -> None:
    assert facade_ingress(GATEWAY) == [OPS_RULE, {"from": PEERS, "ports": FACADE_PORT}]


def test_allow_all_opens_the_facade_port_to_every_peer() -> None:
    assert facade_ingress({"facade.gateway.allowAll": "true"}) == [
        OPS_RULE,
        {"ports": FACADE_PORT},
    ]


def test_gateway_secret_and_user_roles_reach_the_facade_env() -> None:
    env = facade_env(
        {
            "facade.gateway.secret.name": "gateway",
            "facade.roles.admins": "{ann,ops@example.com}",
            "facade.roles.readOnly": "{auditor}",
        }
    )
    assert env["ALMANAC_API_GATEWAY_SECRET"] == {
        "secretKeyRef": {"name": "gateway", "key": "token"}
    }
    assert env["ALMANAC_API_ADMIN_USERS"] == "ann,ops@example.com"
    assert env["ALMANAC_API_READONLY_USERS"] == "auditor"


def test_unset_gateway_secret_and_roles_leave_the_facade_env_alone() -> None:
    names = facade_env({}).keys()
    assert not names & {
        "ALMANAC_API_GATEWAY_SECRET",
        "ALMANAC_API_ADMIN_USERS",
        "ALMANAC_API_READONLY_USERS",
    }


def chart_tenant_roles(values: dict[str, str] | None = None) -> dict[str, dict[str, Any]]:
    return {
        r["metadata"]["name"]: r
        for r in render(values)
        if r["kind"] == "ClusterRole" and r["metadata"]["name"] in TENANT_ROLES
    }


def aggregation_labels(role: dict[str, Any]) -> dict[str, str]:
    labels: dict[str, str] = role["metadata"]["labels"]
    return {k: v for k, v in labels.items() if k.startswith("rbac.authorization.k8s.io/")}


def test_tenant_roles_aggregate_into_the_builtin_roles_of_the_same_name() -> None:
    roles = chart_tenant_roles()
    assert roles.keys() == set(TENANT_ROLES)
    for name, role in roles.items():
        builtin = name.removeprefix("almanac-")
        assert aggregation_labels(role) == {
            f"rbac.authorization.k8s.io/aggregate-to-{builtin}": "true"
        }


def granted(role: dict[str, Any]) -> set[tuple[str, str]]:
    return {
        (resource, verb)
        for rule in role["rules"]
        for resource in rule["resources"]
        for verb in rule["verbs"]
        if rule["apiGroups"] == ["almanac.dev"]
    }


def test_tenants_write_scheduledjobs_and_jobtemplates_and_only_read_runrequests() -> None:
    roles = chart_tenant_roles()
    reads = {
        (r, v)
        for r in ("scheduledjobs", "jobtemplates", "runrequests")
        for v in ("get", "list", "watch")
    }
    writes = {
        (r, v)
        for r in ("scheduledjobs", "jobtemplates")
        for v in ("create", "update", "patch", "delete")
    }
    assert granted(roles["almanac-view"]) == reads
    assert granted(roles["almanac-edit"]) == reads | writes
    assert roles["almanac-admin"]["rules"] == roles["almanac-edit"]["rules"]


def test_chart_tenant_roles_are_those_of_config_rbac() -> None:
    path = REPO / "config" / "rbac" / "tenant-roles.yaml"
    shipped = {d["metadata"]["name"]: d for d in yaml.safe_load_all(path.read_text())}
    rendered = chart_tenant_roles()
    assert rendered.keys() == shipped.keys()
    for name, role in rendered.items():
        assert role["rules"] == shipped[name]["rules"], name
        assert aggregation_labels(role) == aggregation_labels(shipped[name]), name
        # The chart adds Helm's own labels to those of the file.
        assert shipped[name]["metadata"]["labels"].items() <= role["metadata"]["labels"].items()


def test_tenant_roles_are_left_out_when_asked_or_without_rbac() -> None:
    assert chart_tenant_roles({"rbac.tenantRoles": "false"}) == {}
    assert chart_tenant_roles({"rbac.create": "false"}) == {}


def _org_namespace_objects(values: dict[str, str]) -> list[dict[str, Any]] | None:
    maps = [
        m
        for m in render(values)
        if m["kind"] == "ConfigMap" and m["metadata"]["name"].endswith("-facade-org-namespaces")
    ]
    if not maps:
        return None
    objects: list[dict[str, Any]] = yaml.safe_load(maps[0]["data"]["objects.yaml"])
    return objects


def test_org_namespaces_get_quota_run_defaults_and_no_ingress_by_default() -> None:
    objects = _org_namespace_objects({})
    assert objects is not None
    by_kind = {o["kind"]: o for o in objects}
    assert set(by_kind) == {"ResourceQuota", "LimitRange", "NetworkPolicy"}
    assert by_kind["ResourceQuota"]["spec"]["hard"]["count/jobs.batch"] == "500"
    assert by_kind["NetworkPolicy"]["spec"] == {"podSelector": {}, "policyTypes": ["Ingress"]}
    env = facade_env({})
    assert env["ALMANAC_API_NAMESPACE_DEFAULTS"] == "/etc/almanac/org-namespaces/objects.yaml"
    assert (env["ALMANAC_API_MAX_JOBS_PER_ORG"], env["ALMANAC_API_MANUAL_RUNS_PER_HOUR"]) == (
        "1000",
        "10",
    )


def test_the_org_namespace_file_is_what_the_facade_accepts(tmp_path: Any) -> None:
    """The rendered file passes the facade's own start-up check."""
    path = tmp_path / "objects.yaml"
    path.write_text(yaml.safe_dump(_org_namespace_objects({})))
    assert len(read_namespace_defaults(str(path))) == 3


def test_without_org_namespace_objects_there_is_no_file() -> None:
    values = {
        "facade.orgNamespaces.resourceQuota": "null",
        "facade.orgNamespaces.limitRange": "null",
        "facade.orgNamespaces.denyIngress": "false",
    }
    assert _org_namespace_objects(values) is None
    assert "ALMANAC_API_NAMESPACE_DEFAULTS" not in facade_env(values)


def test_without_a_shared_database_the_facade_serves_no_history_of_its_own() -> None:
    """The trial's history lives in the operator pod: the facade must not open an empty
    database of its own and answer "no runs" (it says history is off instead)."""
    for trial in ({}, {"postgres.embedded": "true", "operator.replicas": "1"}):
        assert facade_env(trial)["ALMANAC_API_HISTORY_ENABLED"] == "false"
    shared = facade_env({"postgres.dsnSecret.name": "almanac-history"})
    assert "ALMANAC_API_HISTORY_ENABLED" not in shared
    assert shared["ALMANAC_DATABASE_URL"] == {
        "secretKeyRef": {"name": "almanac-history", "key": "dsn"}
    }
