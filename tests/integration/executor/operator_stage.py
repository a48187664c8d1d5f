"""The operator end-to-end stage: its constants and peers, the manifests it applies and
how a test waits for a ScheduledJob's run to finish (``test_through_operator``'s fixtures)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from almanac.core.naming import rfc3339_utc
from tests.integration.executor.peers import ExportServiceFake, Inbox, RecordingServer
from tests.integration.operator_support import status
from tests.support import Kubectl, eventually

TEMPLATES = Path(__file__).resolve().parents[3] / "config" / "templates"
#: The pod bridge's gateway (contracts.md): the host, as run pods reach it.
GATEWAY = "10.244.0.1"
#: A run through the operator (pod start included) finishes well within this on the stack.
RUN_TIMEOUT = 150.0
SMTP_PASSWORD = "e2e-smtp-password"
HOOK_TOKEN = "Bearer e2e-hook-token"
SOURCES = [{"application": "inventory", "resource": "hosts"}]


@dataclass
class Stage:
    """What the module fixture set up: the namespace, the peers, the names used."""

    k: Kubectl
    hook: RecordingServer
    exports: ExportServiceFake
    inbox: Inbox
    smtp_port: int
    topic: str
    table: str
    peer_pod_url: str
    restricted_template: str


def restricted_pod(name: str, image: str, command: list[str]) -> dict[str, Any]:
    """A bare pod that the namespace's restricted Pod Security Standard admits."""
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": name, "labels": {"app": name}},
        "spec": {
            "securityContext": {
                "runAsNonRoot": True,
                "runAsUser": 10001,
                "seccompProfile": {"type": "RuntimeDefault"},
            },
            "containers": [
                {
                    "name": name,
                    "image": image,
                    "imagePullPolicy": "IfNotPresent",
                    "command": command,
                    "ports": [{"containerPort": 8080}],
                    "readinessProbe": {"tcpSocket": {"port": 8080}, "periodSeconds": 1},
                    "securityContext": {
                        "allowPrivilegeEscalation": False,
                        "capabilities": {"drop": ["ALL"]},
                    },
                }
            ],
        },
    }


def secret(name: str, key: str, value: str) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": {"name": name},
        "stringData": {key: value},
    }


def ref(name: str, key: str) -> dict[str, Any]:
    return {"secretKeyRef": {"name": name, "key": key}}


def once(name: str, template: str, params: dict[str, Any], at: datetime) -> dict[str, Any]:
    """A ScheduledJob running ``template`` once, at ``at``."""
    return {
        "apiVersion": "almanac.dev/v1alpha1",
        "kind": "ScheduledJob",
        "metadata": {"name": name},
        "spec": {"template": template, "params": params, "schedule": {"at": rfc3339_utc(at)}},
    }


async def finished_run(k: Kubectl, name: str) -> dict[str, Any]:
    """``status.lastRun`` of ``name`` once its run has finished (either way)."""

    def finished() -> dict[str, Any] | None:
        last: dict[str, Any] = status(k, name).get("lastRun") or {}
        return last if last.get("phase") in ("Succeeded", "Failed") else None

    return await eventually(finished, timeout=RUN_TIMEOUT, interval=1, what=f"a run of {name}")


def run_container(k: Kubectl, last: dict[str, Any]) -> dict[str, Any]:
    container: dict[str, Any] = k.get("job", last["job"])["spec"]["template"]["spec"]["containers"][
        0
    ]
    return container
