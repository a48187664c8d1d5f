"""The chart installed with Helm into a fresh namespace of the local stack, as a user would.

One release per module (an install takes ~20 s of the shared 2 cores); its teardown removes
everything the release put in the cluster except the CRDs (kept by design and shared with
the integration suite): the release, its namespace, its ClusterRoles and bindings, its
ValidatingWebhookConfiguration (left behind it would refuse later tests' applies) and the
built-in ClusterJobTemplates its hooks created.
"""

from __future__ import annotations

import contextlib
import ipaddress
import json
import os
import socket
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest

from hack.localstack.settings import POD_CIDR
from tests.support import Kubectl, KubectlError
from tests.unit.gitops.chart import CHART, REPO, HelmError, helm, set_args

#: The facade is templated and, once its package is complete, installed and asked too.
FACADE_BUILT = (REPO / "almanac" / "api" / "__init__.py").exists()


@dataclass(frozen=True)
class Release:
    """One installed release and how to reach what it runs."""

    name: str
    namespace: str
    image: str
    kubectl: Kubectl
    kubeconfig: str
    #: The one NetworkPolicyPeer admitted to the facade: this test process (install_values).
    gateway_peer: dict[str, Any] = field(default_factory=dict)

    def helm(self, *args: str, timeout: float = 300) -> str:
        return helm(*args, "-n", self.namespace, kubeconfig=self.kubeconfig, timeout=timeout)

    @property
    def operator(self) -> str:
        return f"{self.name}-almanac-operator"

    @property
    def facade(self) -> str:
        return f"{self.name}-almanac-facade"

    def operator_pods(self) -> list[dict[str, Any]]:
        pods = self.kubectl.list(
            "pods", f"app.kubernetes.io/instance={self.name},app.kubernetes.io/component=operator"
        )
        return [p for p in pods if not p["metadata"].get("deletionTimestamp")]

    def ready_operator_pods(self) -> list[str]:
        return [
            p["metadata"]["name"]
            for p in self.operator_pods()
            if any(
                c["type"] == "Ready" and c["status"] == "True"
                for c in p["status"].get("conditions", [])
            )
        ]

    def leader(self) -> str:
        lease = self.kubectl.get("lease", self.operator)
        return str(lease["spec"].get("holderIdentity") or "")


@pytest.fixture(scope="session")
def stack(request: pytest.FixtureRequest) -> Iterator[dict[str, str]]:
    """The local stack (tests/conftest.py), or with ``ALMANAC_E2E_CLUSTER=external`` the
    cluster of ``KUBECONFIG`` with ``ALMANAC_IMAGE`` loaded (hack/kind-e2e.sh)."""
    if os.environ.get("ALMANAC_E2E_CLUSTER") == "external":
        names = ("KUBECONFIG", "ALMANAC_IMAGE", "ALMANAC_DATABASE_URL", "ALMANAC_KAFKA_BOOTSTRAP")
        yield {name: os.environ.get(name, "") for name in names}
    else:
        yield request.getfixturevalue("stack")  # the local stack's fixture


def client_cidr(kubectl: Kubectl) -> str:
    """This process as the pods see it: the address the host sends from to the pod network
    (the tests reach the facade by pod IP), as a one-address CIDR."""
    nodes = kubectl.list("nodes")
    # kind allocates pod ranges per node; the local stack has its one fixed range.
    cidr = next((n["spec"]["podCIDR"] for n in nodes if n["spec"].get("podCIDR")), POD_CIDR)
    network = ipaddress.ip_network(cidr)
    family = socket.AF_INET6 if network.version == 6 else socket.AF_INET
    with socket.socket(family, socket.SOCK_DGRAM) as probe:
        probe.connect((str(network[2]), 9))  # UDP: the kernel picks route and source, sends nothing
        address = probe.getsockname()[0]
    return f"{address}/{network.max_prefixlen}"


def install_values(
    namespace: str, image: str, kafka: str, dsn: str, gateway_cidr: str
) -> dict[str, str]:
    repository, _, tag = image.rpartition(":")
    values = {
        "image.repository": repository,
        "image.tag": tag,
        "watchNamespaces": "{" + namespace + "}",
        "facade.enabled": str(FACADE_BUILT).lower(),
        # Installed as in production, the facade closed to all but the gateway: here the
        # tests themselves (the stack's CNI does not enforce it; the object is checked).
        "facade.gateway.from[0].ipBlock.cidr": gateway_cidr,
    }
    if kafka:
        values["kafka.bootstrap"] = kafka
    if dsn:
        values["postgres.dsnSecret.name"] = "history-database"
    return values


def remove_release(kubectl: Kubectl, kubeconfig: str, name: str, namespace: str) -> None:
    """Everything the release made, whether or not the install or the tests finished."""
    # Never installed, or already uninstalled by a test: fine.
    with contextlib.suppress(HelmError):
        helm("uninstall", name, "-n", namespace, "--wait", "--timeout", "2m", kubeconfig=kubeconfig)
    selector = f"app.kubernetes.io/instance={name}"
    for kind in ("validatingwebhookconfiguration", "clusterrolebinding", "clusterrole"):
        kubectl.run("delete", kind, "-l", selector, "--ignore-not-found")
    # A failed first install leaves no CRDs behind (the integration suite deletes its own).
    crd = kubectl.run("get", "crd", "clusterjobtemplates.almanac.dev", "--ignore-not-found")
    templates = (
        json.loads(kubectl.run("get", "clusterjobtemplates", "-o", "json"))["items"] if crd else []
    )
    for template in templates:
        owner = (template["metadata"].get("annotations") or {}).get("almanac.dev/release")
        if owner == f"{namespace}/{name}":
            kubectl.run(
                "delete", "clusterjobtemplate", template["metadata"]["name"], "--ignore-not-found"
            )
    kubectl.run("delete", "namespace", namespace, "--ignore-not-found", "--wait=false")


@pytest.fixture(scope="module")
def release(stack: dict[str, str], kubectl: Kubectl) -> Iterator[Release]:
    """A fresh restricted namespace with the chart installed (``--wait``) into it."""
    name = f"e2e-{uuid.uuid4().hex[:6]}"
    namespace = f"t-{name}"
    kubeconfig = stack["KUBECONFIG"]
    image = stack["ALMANAC_IMAGE"]
    kubectl.apply(
        {
            "apiVersion": "v1",
            "kind": "Namespace",
            "metadata": {
                "name": namespace,
                "labels": {"pod-security.kubernetes.io/enforce": "restricted"},
            },
        }
    )
    k = kubectl.in_namespace(namespace)
    dsn = stack["ALMANAC_DATABASE_URL"]
    if dsn:
        k.run("create", "secret", "generic", "history-database", f"--from-literal=dsn={dsn}")
    gateway_cidr = client_cidr(kubectl)
    values = install_values(namespace, image, stack["ALMANAC_KAFKA_BOOTSTRAP"], dsn, gateway_cidr)
    try:
        helm(
            "install", name, str(CHART), "-n", namespace, "--wait", "--timeout", "4m",
            # The CRDs may exist already (the integration suite applies them).
            "--take-ownership", *set_args(values),
            kubeconfig=kubeconfig, timeout=300,
        )  # fmt: skip
        peer = {"ipBlock": {"cidr": gateway_cidr}}
        yield Release(name, namespace, image, k, kubeconfig, peer)
    finally:
        remove_release(kubectl, kubeconfig, name, namespace)


def events(k: Kubectl) -> str:
    """The namespace's events, for failure messages."""
    try:
        return k.run("get", "events", "--sort-by=.lastTimestamp")
    except KubectlError as exc:
        return str(exc)
