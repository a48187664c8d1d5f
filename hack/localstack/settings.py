"""Pinned versions, directories and addresses shared by every part of the stack.

The contract (shared/docs/contracts.md, "Local stack") fixes the state and cache
directories, the bridge, the pod and service ranges and the image names; everything a pod
must reach listens on the bridge gateway.
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass
from pathlib import Path

__all__ = [
    "BASE_IMAGE",
    "BRIDGE",
    "CLUSTER_NAME",
    "GATEWAY",
    "HELM_VERSION",
    "K8S_VERSION",
    "KAFKA_VERSION",
    "PAUSE_IMAGE",
    "POD_CIDR",
    "PROJECT_IMAGE",
    "REGISTRY_VERSION",
    "REPO",
    "SERVICE_CIDR",
    "SERVICE_IP",
    "Dirs",
]

K8S_VERSION = "v1.37.2"
HELM_VERSION = "v4.3.1"
KAFKA_VERSION = "4.1.1"
#: The CNCF distribution registry (``hack/localstack/registry.py``).
REGISTRY_VERSION = "v3.1.2"

BRIDGE = "almanac0"
POD_CIDR = "10.244.0.0/24"
GATEWAY = "10.244.0.1"
SERVICE_CIDR = "10.0.0.0/24"
SERVICE_IP = "10.0.0.1"
CLUSTER_NAME = "almanac"

BASE_IMAGE = "localhost/almanac-base:bookworm-py311-1"
PAUSE_IMAGE = "localhost/pause:busybox-1"
PROJECT_IMAGE = "localhost/almanac:dev"

REPO = Path(__file__).resolve().parents[2]


@dataclass(frozen=True)
class Dirs:
    """Where the stack keeps state (per stack) and caches (shared by every clone)."""

    state: Path
    cache: Path

    @classmethod
    def from_env(cls) -> Dirs:
        home = Path.home()
        state = os.environ.get("ALMANAC_STACK_DIR") or str(
            home / ".local" / "state" / "almanac" / "stack"
        )
        cache_root = os.environ.get("XDG_CACHE_HOME") or str(home / ".cache")
        return cls(state=Path(state).resolve(), cache=Path(cache_root).resolve() / "almanac")

    @property
    def logs(self) -> Path:
        return self.state / "logs"

    @property
    def pki(self) -> Path:
        return self.state / "pki"

    @property
    def kubeconfig(self) -> Path:
        return self.state / "kubeconfig"

    @property
    def facade_kubeconfig(self) -> Path:
        """``make dev``'s facade as a user of its own (the one its webhook trusts)."""
        return self.state / "facade.kubeconfig"

    @property
    def state_file(self) -> Path:
        return self.state / "state.json"

    @property
    def containerd(self) -> Path:
        return self.state / "containerd"

    @property
    def containerd_socket(self) -> Path:
        return self.containerd / "containerd.sock"

    @property
    def kubelet(self) -> Path:
        return self.state / "kubelet"

    @property
    def docker(self) -> Path:
        return self.state / "docker"

    @property
    def docker_socket(self) -> Path:
        return self.docker / "docker.sock"

    @property
    def postgres(self) -> Path:
        """Postgres refuses to run as root and cannot enter root's 0700 home, so its data
        lives under /var/tmp, in a folder named after the state directory."""
        digest = hashlib.sha256(str(self.state).encode()).hexdigest()[:10]
        return Path("/var/tmp/almanac-stack") / digest / "postgres"

    @property
    def bin(self) -> Path:
        return self.cache / f"kubernetes-{K8S_VERSION}" / "bin"

    @property
    def helm(self) -> Path:
        return self.cache / f"helm-{HELM_VERSION}" / "helm"

    @property
    def registry(self) -> Path:
        return self.cache / f"registry-{REGISTRY_VERSION}" / "registry"

    @property
    def kafka(self) -> Path:
        return self.cache / f"kafka-{KAFKA_VERSION}"

    @property
    def docker_data(self) -> Path:
        """Docker's image store is a cache: base and pause images survive ``down``."""
        return self.cache / "docker"

    @property
    def images(self) -> Path:
        return self.cache / "images"

    @property
    def build_logs(self) -> Path:
        return self.cache / "logs"
