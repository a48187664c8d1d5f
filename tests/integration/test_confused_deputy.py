"""No confused deputy: a writer of ScheduledJobs gets no run power they lack themselves.

On the real API server, through the webhook and real SubjectAccessReviews: user ``alice``
may write ScheduledJobs in the namespace and nothing else. A job whose run would read a
Secret or run as a ServiceAccount is refused with 403 naming the permission and the field;
the same job is accepted once alice may read that Secret (the control), a job with no such
power is accepted, and alice may edit the schedule of a job an admin gave a Secret. A
volume is checked as the object it mounts (``get`` on the claim); a hostPath volume is
refused to everyone, the admin included (by the CRD's own rule, before any webhook).
"""

from __future__ import annotations

import asyncio
import json
from typing import Any

import pytest

from tests.support import Kubectl, KubectlError, eventually

ALICE = "alice"
RBAC = "rbac.authorization.k8s.io"
SECRET_PARAMS = {
    "url": "https://example.test/report",
    "headers": {"Authorization": {"secretKeyRef": {"name": "db", "key": "token"}}},
}


def _job(name: str, **spec: Any) -> dict[str, Any]:
    return {
        "apiVersion": "almanac.dev/v1alpha1",
        "kind": "ScheduledJob",
        "metadata": {"name": name},
        "spec": {"template": "http", "schedule": {"cron": "0 3 * * *"}, **spec},
    }


def _grant(k: Kubectl, name: str, rules: list[dict[str, Any]]) -> None:
    """A Role with ``rules``, bound to alice in the test's namespace."""
    k.apply(
        {"apiVersion": f"{RBAC}/v1", "kind": "Role", "metadata": {"name": name}, "rules": rules}
    )
    k.apply(
        {
            "apiVersion": f"{RBAC}/v1",
            "kind": "RoleBinding",
            "metadata": {"name": name},
            "roleRef": {"apiGroup": RBAC, "kind": "Role", "name": name},
            "subjects": [{"apiGroup": RBAC, "kind": "User", "name": ALICE}],
        }
    )


async def _as_alice(k: Kubectl, manifest: dict[str, Any]) -> str:
    """``kubectl apply`` as alice alone (no admin group), off the event loop."""
    return await asyncio.to_thread(
        k.run, "apply", f"--as={ALICE}", "-f", "-", stdin=json.dumps(manifest)
    )


async def _refused_as_alice(k: Kubectl, manifest: dict[str, Any]) -> str:
    try:
        out = await _as_alice(k, manifest)
    except KubectlError as exc:
        return exc.stderr
    raise AssertionError(f"accepted: {out.strip()}")


async def _writer(k: Kubectl) -> None:
    """alice may write ScheduledJobs, and nothing else (RBAC is read at once; wait anyway)."""
    _grant(
        k,
        "scheduledjob-writer",
        [{"apiGroups": ["almanac.dev"], "resources": ["scheduledjobs"], "verbs": ["*"]}],
    )
    await eventually(
        lambda: _accepted_on_dry_run(k, _job("probe-writer", params={"url": "https://x.test"})),
        timeout=20,
        what="alice's ScheduledJob rights",
    )


async def _accepted_on_dry_run(k: Kubectl, manifest: dict[str, Any]) -> bool:
    """alice's server-side dry run, off the event loop (the webhook shares the loop)."""
    await asyncio.to_thread(
        k.run, "apply", f"--as={ALICE}", "--dry-run=server", "-f", "-", stdin=json.dumps(manifest)
    )
    return True


async def test_a_job_reading_a_secret_its_writer_cannot_read_is_refused(guarded: Kubectl) -> None:
    k = guarded
    await _writer(k)
    k.run("create", "secret", "generic", "db", "--from-literal=token=s3cret")

    refused = await _refused_as_alice(k, _job("steal", params=SECRET_PARAMS))
    assert "Forbidden" in refused
    assert "get secrets 'db'" in refused
    assert "spec.params.headers.Authorization" in refused
    assert k.list("scheduledjobs") == []

    # Control: once alice may read that Secret, the same job is accepted.
    _grant(
        k,
        "read-db",
        [{"apiGroups": [""], "resources": ["secrets"], "resourceNames": ["db"], "verbs": ["get"]}],
    )
    await eventually(
        lambda: _accepted_on_dry_run(k, _job("steal", params=SECRET_PARAMS)),
        timeout=20,
        what="the job accepted once alice may read the Secret",
    )


async def test_a_job_choosing_its_pods_service_account_needs_pod_create(guarded: Kubectl) -> None:
    k = guarded
    await _writer(k)
    job = _job(
        "deployer",
        params={"url": "https://example.test"},
        podTemplate={"serviceAccountName": "deployer", "tolerations": [{"operator": "Exists"}]},
    )
    refused = await _refused_as_alice(k, job)
    assert "create pods" in refused
    assert "spec.podTemplate.serviceAccountName" in refused

    plain = _job("plain", params={"url": "https://example.test"})
    assert "created" in await _as_alice(k, plain)  # control: no power, no check


async def test_an_edit_that_adds_no_power_is_allowed_on_an_admins_job(guarded: Kubectl) -> None:
    k = guarded
    k.run("create", "secret", "generic", "db", "--from-literal=token=s3cret")
    # As the admin, who may read it (off the loop: the webhook shares it).
    await asyncio.to_thread(k.apply, _job("nightly", params=SECRET_PARAMS))
    await _writer(k)
    rescheduled = _job("nightly", params=SECRET_PARAMS, schedule={"cron": "30 4 * * *"})
    assert "configured" in await _as_alice(k, rescheduled)
    assert k.get("scheduledjob", "nightly")["spec"]["schedule"]["cron"] == "30 4 * * *"


async def test_a_job_mounting_a_claim_its_writer_cannot_read_is_refused(guarded: Kubectl) -> None:
    k = guarded
    await _writer(k)
    claim = {"name": "data", "persistentVolumeClaim": {"claimName": "reports"}}
    job = _job("mounts", params={"url": "https://example.test"}, podTemplate={"volumes": [claim]})
    refused = await _refused_as_alice(k, job)
    assert "get persistentvolumeclaims 'reports'" in refused
    assert "spec.podTemplate.volumes[0].persistentVolumeClaim" in refused

    _grant(
        k,
        "read-reports",
        [
            {
                "apiGroups": [""],
                "resources": ["persistentvolumeclaims"],
                "resourceNames": ["reports"],
                "verbs": ["get"],
            }
        ],
    )
    await eventually(
        lambda: _accepted_on_dry_run(k, job),
        timeout=20,
        what="the job accepted once alice may read the claim",
    )


def test_a_host_path_volume_is_refused_to_everyone(crds: Kubectl, namespace: str) -> None:
    k = crds.in_namespace(namespace)
    host = {"name": "root", "hostPath": {"path": "/"}}
    job = _job("host", params={"url": "https://example.test"}, podTemplate={"volumes": [host]})
    # As the admin, who could create such a pod by hand: still refused.
    with pytest.raises(KubectlError) as refused:
        k.apply(job)
    assert "hostPath" in refused.value.stderr
    assert "use a persistentVolumeClaim" in refused.value.stderr
