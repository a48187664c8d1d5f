"""A thin kubectl wrapper: tests drive the cluster the way users do."""

from __future__ import annotations

import json
import os
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Any

__all__ = ["Kubectl", "KubectlError"]

REPO = Path(__file__).resolve().parents[2]


class KubectlError(Exception):
    """kubectl exited non-zero; the message carries its stderr."""

    def __init__(self, args: list[str], stderr: str) -> None:
        super().__init__(f"kubectl {' '.join(args)}: {stderr.strip()}")
        self.stderr = stderr


@dataclass(frozen=True)
class Kubectl:
    kubeconfig: str
    namespace: str | None = None

    def in_namespace(self, namespace: str) -> Kubectl:
        return Kubectl(self.kubeconfig, namespace)

    def run(self, *args: str, stdin: str | None = None, timeout: float = 60) -> str:
        argv = [str(REPO / ".venv" / "bin" / "kubectl"), *args]
        if self.namespace and "-n" not in args and "--all-namespaces" not in args:
            argv += ["-n", self.namespace]
        result = subprocess.run(
            argv,
            input=stdin,
            capture_output=True,
            text=True,
            timeout=timeout,
            env=dict(os.environ, KUBECONFIG=self.kubeconfig),
            check=False,
        )
        if result.returncode != 0:
            raise KubectlError(list(args), result.stderr)
        return result.stdout

    def apply(self, *manifests: dict[str, Any]) -> str:
        body = {"apiVersion": "v1", "kind": "List", "items": list(manifests)}
        return self.run("apply", "-f", "-", stdin=json.dumps(body))

    def get(self, kind: str, name: str) -> dict[str, Any]:
        data: dict[str, Any] = json.loads(self.run("get", kind, name, "-o", "json"))
        return data

    def list(self, kind: str, *selectors: str) -> list[dict[str, Any]]:
        extra = [arg for sel in selectors for arg in ("-l", sel)]
        items: list[dict[str, Any]] = json.loads(self.run("get", kind, *extra, "-o", "json"))[
            "items"
        ]
        return items
