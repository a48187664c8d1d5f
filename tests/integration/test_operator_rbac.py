"""The operator runs under its own ServiceAccount with the RBAC it ships
(config/rbac/operator.yaml): it schedules, and it cannot read Secrets."""

from __future__ import annotations

import json
import uuid
from pathlib import Path
from typing import Any

import pytest

from tests.integration.operator_support import jobs_at_least, scheduled_job, script_template
from tests.support import Kubectl, KubectlError, eventually
from tests.support.operator import OperatorProcess

RBAC = Path(__file__).resolve().parents[2] / "config" / "rbac" / "operator.yaml"


def service_account_kubeconfig(admin: Kubectl, namespace: str, path: Path) -> str:
    """A kubeconfig that authenticates as the operator's ServiceAccount (a bound token)."""
    token = admin.in_namespace(namespace).run("create", "token", "almanac-operator").strip()
    config: dict[str, Any] = json.loads(admin.run("config", "view", "--raw", "-o", "json"))
    cluster = config["clusters"][0]["cluster"]
    path.write_text(
        json.dumps(
            {
                "apiVersion": "v1",
                "kind": "Config",
                "clusters": [{"name": "c", "cluster": cluster}],
                "users": [{"name": "operator", "user": {"token": token}}],
                "contexts": [{"name": "c", "context": {"cluster": "c", "user": "operator"}}],
                "current-context": "c",
            }
        )
    )
    return str(path)


async def test_operator_schedules_under_its_shipped_rbac_and_cannot_read_secrets(
    crds: Kubectl, namespace: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    k = crds.in_namespace(namespace)
    suffix = uuid.uuid4().hex[:6]
    k.run("apply", "-f", str(RBAC))
    k.apply(
        {"apiVersion": "v1", "kind": "ServiceAccount", "metadata": {"name": "almanac-operator"}},
        {
            "apiVersion": "rbac.authorization.k8s.io/v1",
            "kind": "ClusterRoleBinding",
            "metadata": {"name": f"almanac-operator-{suffix}"},
            "roleRef": {
                "apiGroup": "rbac.authorization.k8s.io",
                "kind": "ClusterRole",
                "name": "almanac-operator",
            },
            "subjects": [
                {"kind": "ServiceAccount", "name": "almanac-operator", "namespace": namespace}
            ],
        },
        {
            "apiVersion": "rbac.authorization.k8s.io/v1",
            "kind": "RoleBinding",
            "metadata": {"name": "almanac-operator-lease"},
            "roleRef": {
                "apiGroup": "rbac.authorization.k8s.io",
                "kind": "Role",
                "name": "almanac-operator-lease",
            },
            "subjects": [
                {"kind": "ServiceAccount", "name": "almanac-operator", "namespace": namespace}
            ],
        },
        {
            "apiVersion": "v1",
            "kind": "Secret",
            "metadata": {"name": "not-yours"},
            "stringData": {"password": "hunter2"},
        },
        script_template(),
    )
    kubeconfig = service_account_kubeconfig(crds, namespace, tmp_path / "operator.kubeconfig")
    as_operator = Kubectl(kubeconfig, namespace)
    with pytest.raises(KubectlError) as denied:
        as_operator.run("get", "secret", "not-yours")
    assert "Forbidden" in denied.value.stderr
    monkeypatch.setenv("KUBECONFIG", kubeconfig)
    # Only this namespace: other tests' terminating namespaces would refuse Jobs with a
    # "forbidden" that is not about RBAC.
    monkeypatch.setenv("ALMANAC_WATCH_NAMESPACES", namespace)
    replica = OperatorProcess(
        "rbac", f"almanac-rbac-{suffix}", namespace, tmp_path / "operator.log"
    )
    replica.start()
    try:
        await eventually(
            lambda: "lease acquired" in replica.log_text(),
            timeout=30,
            what="lease acquired under RBAC",
        )
        k.apply(scheduled_job("least-privilege", schedule={"every": "5s"}))
        await jobs_at_least(k, "least-privilege", 1)
        await eventually(
            lambda: (
                (k.get("scheduledjob", "least-privilege").get("status") or {})
                .get("lastRun", {})
                .get("phase")
                == "Succeeded"
            ),
            timeout=60,
            what="a run recorded in status",
        )
        assert "Forbidden" not in replica.log_text()
    finally:
        replica.stop()
        crds.run("delete", "clusterrolebinding", f"almanac-operator-{suffix}", "--ignore-not-found")
