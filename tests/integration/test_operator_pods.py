"""Run pods shaped by ``spec.podTemplate`` and by a template that brings its own image, on
the real stack (restricted namespaces, the operator's own launches).

The non-Python image is the one busybox image the node has: the stack's pause image
(``hack/localstack``: the Debian busybox-static binary as ``/bin/busybox``, entrypoint
``/bin/sleep infinity``), run with ``imagePullPolicy: Never``, or pushed to the stack's
password-protected registry and pulled from there with a pull secret.
The stack has no storage provisioner either: the PersistentVolumeClaim is bound to a
hostPath PersistentVolume the test creates as the admin over a directory of this machine
(the stack's kubelet is a process of this machine), so the test can read back what the
run wrote on the claim.
"""

from __future__ import annotations

import shutil
import tempfile
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any, Final

import pytest

from hack.localstack.settings import PAUSE_IMAGE
from tests.integration.operator_support import almanac_jobs, annotate, module_operator
from tests.support import Kubectl, eventually
from tests.support.operator import OperatorProcess
from tests.support.registry import Docker

BUSYBOX: Final = PAUSE_IMAGE
#: A first-of-January cron: runs only when asked (run-now), so each test has one run.
NEVER: Final = {"cron": "0 0 1 1 *"}
#: A sidecar that ends when told (busybox ``sleep`` as PID 1 would ignore SIGTERM and keep
#: the pod, and so the Job, alive for the whole grace period).
SIDECAR_SCRIPT: Final = "trap 'exit 0' TERM; while true; do sleep 1; done"


@pytest.fixture(scope="module")
def operator(crds: Kubectl, tmp_path_factory: pytest.TempPathFactory) -> Iterator[OperatorProcess]:
    with module_operator("pods-suite", tmp_path_factory) as replica:
        yield replica


@pytest.fixture
def k(crds: Kubectl, operator: OperatorProcess, namespace: str) -> Kubectl:
    return crds.in_namespace(namespace)


def busybox_template(name: str, script: str, **spec: Any) -> dict[str, Any]:
    """A JobTemplate running ``script`` with busybox's shell: no Python anywhere."""
    return {
        "apiVersion": "almanac.dev/v1alpha1",
        "kind": "JobTemplate",
        "metadata": {"name": name},
        "spec": {
            "image": BUSYBOX,
            "imagePullPolicy": "Never",
            "command": ["/bin/busybox", "sh", "-c"],
            "args": [script],
            **spec,
        },
    }


def on_demand(name: str, template: str, **spec: Any) -> dict[str, Any]:
    return {
        "apiVersion": "almanac.dev/v1alpha1",
        "kind": "ScheduledJob",
        "metadata": {"name": name},
        "spec": {"template": template, "schedule": NEVER, **spec},
    }


async def run_once(k: Kubectl, name: str, timeout: float = 90) -> dict[str, Any]:
    """Ask for one run of ``name`` and return its Job once it completed."""
    annotate(k, name, "almanac.dev/run-now", "once")

    def completed() -> dict[str, Any] | None:
        for job in almanac_jobs(k, name):
            conditions = (job.get("status") or {}).get("conditions") or []
            states = {c["type"] for c in conditions if c.get("status") == "True"}
            assert "Failed" not in states, f"run failed: {conditions} {pod_events(k, job)}"
            if "Complete" in states:
                return job
        return None

    return await eventually(completed, timeout=timeout, what=f"a completed run of {name}")


def pod_of(k: Kubectl, job: dict[str, Any]) -> dict[str, Any]:
    (pod,) = k.list("pods", f"job-name={job['metadata']['name']}")
    return pod


def pod_events(k: Kubectl, job: dict[str, Any]) -> list[str]:
    """The Job's and its pods' warnings, for a failure message."""
    events = k.list("events")
    name = job["metadata"]["name"]
    return [
        e.get("message", "")
        for e in events
        if e.get("type") == "Warning" and e["involvedObject"]["name"].startswith(name)
    ]


def termination_message(pod: dict[str, Any]) -> str:
    for status in pod["status"].get("containerStatuses") or []:
        if status["name"] == "run":
            return str(status["state"]["terminated"].get("message", ""))
    raise AssertionError(f"no run container in {pod['metadata']['name']}")


async def test_a_busybox_template_gets_its_slot_through_args(k: Kubectl) -> None:
    # Shell builtins only: the image has no applet symlinks but ``sleep``.
    script = 'echo "slot=$(ALMANAC_SLOT) run=$(ALMANAC_RUN)" > /dev/termination-log; echo done'
    k.apply(busybox_template("slot-echo", script), on_demand("echo-slot", "slot-echo"))
    job = await run_once(k, "echo-slot")
    slot = job["metadata"]["annotations"]["almanac.dev/scheduled-time"]
    pod = pod_of(k, job)
    (run,) = pod["spec"]["containers"]
    assert run["image"] == BUSYBOX
    assert run["imagePullPolicy"] == "Never"
    assert run["args"] == [script], "the template's args reach the pod unexpanded"
    assert termination_message(pod).strip() == f"slot={slot} run={job['metadata']['name']}"
    assert k.run("logs", f"job/{job['metadata']['name']}", "-c", "run").strip() == "done"


@pytest.fixture
def claim(k: Kubectl, namespace: str) -> Iterator[tuple[str, Path]]:
    """A PersistentVolumeClaim bound to a hostPath PersistentVolume over a fresh
    directory of this machine, writable by the run user; both removed afterwards."""
    directory = Path(tempfile.mkdtemp(prefix="almanac-pv-"))
    directory.chmod(0o777)  # the run user is 10001; hostPath volumes get no fsGroup
    volume = f"almanac-test-{uuid.uuid4().hex[:8]}"
    k.apply(
        {
            "apiVersion": "v1",
            "kind": "PersistentVolume",
            "metadata": {"name": volume},
            "spec": {
                "capacity": {"storage": "16Mi"},
                "accessModes": ["ReadWriteOnce"],
                "persistentVolumeReclaimPolicy": "Retain",
                "storageClassName": "",
                "hostPath": {"path": str(directory), "type": "Directory"},
                "claimRef": {"namespace": namespace, "name": "reports"},
            },
        },
        {
            "apiVersion": "v1",
            "kind": "PersistentVolumeClaim",
            "metadata": {"name": "reports"},
            "spec": {
                "accessModes": ["ReadWriteOnce"],
                "storageClassName": "",
                "volumeName": volume,
                "resources": {"requests": {"storage": "16Mi"}},
            },
        },
    )
    try:
        yield "reports", directory
    finally:
        k.run("delete", "persistentvolumeclaim", "reports", "--wait=false")
        k.run("delete", "persistentvolume", volume, "--wait=false")
        shutil.rmtree(directory, ignore_errors=True)


async def test_a_run_with_a_claim_an_init_container_and_a_sidecar_completes(
    k: Kubectl, claim: tuple[str, Path]
) -> None:
    name, directory = claim
    mount = [{"name": "reports", "mountPath": "/reports"}]
    k.apply(
        busybox_template(
            "report",
            'echo "$(ALMANAC_SLOT)" > /reports/slot; '
            'read prepared < /reports/prepared; echo "$prepared" > /dev/termination-log',
        ),
        on_demand(
            "with-claim",
            "report",
            podTemplate={
                "volumes": [{"name": "reports", "persistentVolumeClaim": {"claimName": name}}],
                "volumeMounts": mount,
                "initContainers": [
                    {
                        "name": "prepare",
                        "image": BUSYBOX,
                        "imagePullPolicy": "Never",
                        "command": ["/bin/busybox", "sh", "-c"],
                        "args": ["echo prepared-by-init > /reports/prepared"],
                        "volumeMounts": mount,
                    },
                    {
                        "name": "sidecar",
                        "image": BUSYBOX,
                        "imagePullPolicy": "Never",
                        "restartPolicy": "Always",
                        "command": ["/bin/busybox", "sh", "-c", SIDECAR_SCRIPT],
                    },
                ],
                "job": {"ttlSecondsAfterFinished": 3600},
            },
        ),
    )
    job = await run_once(k, "with-claim", timeout=120)
    assert job["spec"]["ttlSecondsAfterFinished"] == 3600
    pod = pod_of(k, job)
    spec = pod["spec"]
    assert {"name": "reports", "persistentVolumeClaim": {"claimName": name}} in spec["volumes"]
    prepare, sidecar = spec["initContainers"]
    assert "restartPolicy" not in prepare
    assert sidecar["restartPolicy"] == "Always"
    assert sidecar["securityContext"]["runAsNonRoot"] is True, "restricted defaults kept"
    assert termination_message(pod).strip() == "prepared-by-init"
    slot = job["metadata"]["annotations"]["almanac.dev/scheduled-time"]
    assert (directory / "slot").read_text().strip() == slot, "the run wrote to the claim"


@pytest.fixture(scope="module")
def private_busybox(stack: dict[str, str], tmp_path_factory: pytest.TempPathFactory) -> str:
    """The busybox image pushed to the stack's password-protected registry."""
    docker = Docker(tmp_path_factory.mktemp("docker-config"))
    registry = stack["ALMANAC_PRIVATE_REGISTRY"]
    user = stack["ALMANAC_PRIVATE_REGISTRY_USER"]
    docker.login(registry, user, stack["ALMANAC_PRIVATE_REGISTRY_PASSWORD_FILE"])
    return docker.push(BUSYBOX, f"{registry}/team/busybox:{uuid.uuid4().hex[:8]}")


def registry_secret(k: Kubectl, name: str, server: str, user: str, password: str) -> None:
    k.run(
        "create",
        "secret",
        "docker-registry",
        name,
        f"--docker-server={server}",
        f"--docker-username={user}",
        f"--docker-password={password}",
    )


def private_registry_secret(k: Kubectl, name: str, stack: dict[str, str]) -> None:
    """A pull secret with the stack's private registry's real credentials."""
    password = Path(stack["ALMANAC_PRIVATE_REGISTRY_PASSWORD_FILE"]).read_text().strip()
    registry, user = stack["ALMANAC_PRIVATE_REGISTRY"], stack["ALMANAC_PRIVATE_REGISTRY_USER"]
    registry_secret(k, name, registry, user, password)


async def test_a_run_pulls_from_a_private_registry_with_the_templates_pull_secret(
    k: Kubectl, stack: dict[str, str], private_busybox: str
) -> None:
    """The template's secret holds the registry's real credentials (the pod pulls with
    it); the pod template's adds a second one; both reach the pod in that order."""
    private_registry_secret(k, "team-registry", stack)
    registry_secret(k, "regcred", "registry.invalid", "robot", uuid.uuid4().hex)
    k.apply(
        busybox_template(
            "private",
            "echo pulled > /dev/termination-log",
            image=private_busybox,
            imagePullPolicy="Always",
            imagePullSecrets=[{"name": "team-registry"}],
        ),
        on_demand(
            "with-pull-secret",
            "private",
            podTemplate={"imagePullSecrets": [{"name": "regcred"}]},
        ),
    )
    job = await run_once(k, "with-pull-secret")
    wanted = [{"name": "team-registry"}, {"name": "regcred"}]
    assert job["spec"]["template"]["spec"]["imagePullSecrets"] == wanted
    pod = pod_of(k, job)
    assert pod["spec"]["imagePullSecrets"] == wanted
    assert termination_message(pod).strip() == "pulled"


async def test_without_the_pull_secret_the_private_image_is_refused(
    k: Kubectl, private_busybox: str
) -> None:
    """The control: the same image with no secret does not pull (the registry asks for a
    password), so the run above pulled with the secret and not from a cache."""
    k.apply(
        busybox_template(
            "private-no-secret", "true", image=private_busybox, imagePullPolicy="Always"
        ),
        on_demand("without-pull-secret", "private-no-secret"),
    )
    annotate(k, "without-pull-secret", "almanac.dev/run-now", "once")

    def refused() -> str:
        (job,) = almanac_jobs(k, "without-pull-secret")
        (status,) = pod_of(k, job)["status"]["containerStatuses"]
        waiting = status["state"].get("waiting") or {}
        assert waiting.get("reason") in ("ErrImagePull", "ImagePullBackOff"), status
        return str(waiting.get("message", ""))

    message = await eventually(refused, timeout=90, what="the pull refused")
    assert "401" in message or "unauthorized" in message.lower(), message
