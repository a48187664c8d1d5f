"""The local stack is a real cluster: a Ready node runs restricted pods of the project
image, pods reach the API server, RBAC is enforced, and the built-in controllers work."""

from __future__ import annotations

import json
import os
from typing import Any

from tests.support import Kubectl, eventually

RESTRICTED_CONTAINER: dict[str, Any] = {
    "runAsNonRoot": True,
    "runAsUser": 10001,
    "readOnlyRootFilesystem": True,
    "allowPrivilegeEscalation": False,
    "capabilities": {"drop": ["ALL"]},
    "seccompProfile": {"type": "RuntimeDefault"},
}


def job(
    name: str,
    script: str,
    *,
    service_account: str | None = None,
) -> dict[str, Any]:
    """A Job running ``python3 -c script`` in the project image under restricted rules."""
    pod_spec: dict[str, Any] = {
        "restartPolicy": "Never",
        "automountServiceAccountToken": service_account is not None,
        "containers": [
            {
                "name": "main",
                "image": os.environ["ALMANAC_IMAGE"],
                "imagePullPolicy": "Never",
                "command": ["python3", "-c", script],
                "securityContext": RESTRICTED_CONTAINER,
                "terminationMessagePolicy": "FallbackToLogsOnError",
            }
        ],
    }
    if service_account:
        pod_spec["serviceAccountName"] = service_account
    return {
        "apiVersion": "batch/v1",
        "kind": "Job",
        "metadata": {"name": name},
        "spec": {"backoffLimit": 0, "template": {"spec": pod_spec}},
    }


def job_condition(kubectl: Kubectl, name: str) -> str | None:
    """'Complete' or 'Failed' once the Job has finished, else None."""
    conditions = kubectl.get("job", name).get("status", {}).get("conditions", [])
    for condition in conditions:
        if condition["type"] in ("Complete", "Failed") and condition["status"] == "True":
            return str(condition["type"])
    return None


async def finished(kubectl: Kubectl, name: str) -> str:
    return await eventually(
        lambda: job_condition(kubectl, name), timeout=120, what=f"job {name} finished"
    )


def pod_of(kubectl: Kubectl, job_name: str) -> dict[str, Any]:
    (pod,) = kubectl.list("pods", f"job-name={job_name}")
    return pod


async def test_node_is_ready_and_schedulable(kubectl: Kubectl) -> None:
    node = kubectl.get("node", "localhost")
    ready = {c["type"]: c["status"] for c in node["status"]["conditions"]}["Ready"]
    assert ready == "True"
    assert not node["spec"].get("unschedulable", False)
    assert not [t for t in node["spec"].get("taints", []) if t["effect"] == "NoSchedule"]
    assert node["status"]["nodeInfo"]["kubeletVersion"] == "v1.37.2"


async def test_restricted_pod_of_project_image_completes(kubectl: Kubectl, namespace: str) -> None:
    k = kubectl.in_namespace(namespace)
    script = (
        "import os, almanac; "
        "print('uid', os.getuid(), 'almanac', almanac.__version__); "
        "open('/probe', 'w')"
    )
    # The last statement must fail: the root filesystem is read-only.
    k.apply(job("readonly-fails", script))
    assert await finished(k, "readonly-fails") == "Failed"
    ok = "import os, almanac; print('uid', os.getuid(), 'almanac', almanac.__version__)"
    k.apply(job("hello", ok))
    assert await finished(k, "hello") == "Complete"
    logs = k.run("logs", "job/hello")
    assert "uid 10001 almanac" in logs
    terminated = pod_of(k, "readonly-fails")["status"]["containerStatuses"][0]["state"]
    assert "Read-only file system" in terminated["terminated"]["message"]


async def test_failing_command_reports_exit_code_and_termination_message(
    kubectl: Kubectl, namespace: str
) -> None:
    k = kubectl.in_namespace(namespace)
    script = (
        "import sys; print('working on it'); "
        "open('/dev/termination-log', 'w').write('{\"status\": \"failed\"}'); sys.exit(3)"
    )
    k.apply(job("fails", script))
    assert await finished(k, "fails") == "Failed"
    state = pod_of(k, "fails")["status"]["containerStatuses"][0]["state"]["terminated"]
    assert state["exitCode"] == 3
    assert json.loads(state["message"]) == {"status": "failed"}
    assert "working on it" in k.run("logs", "job/fails")


IN_CLUSTER_LIST_PODS = """
import asyncio
from kubernetes_asyncio import client, config
from kubernetes_asyncio.client.exceptions import ApiException

async def main():
    config.load_incluster_config()
    async with client.ApiClient() as api:
        try:
            pods = await client.CoreV1Api(api).list_namespaced_pod("{namespace}")
            print("listed", len(pods.items))
        except ApiException as exc:
            print("status", exc.status)

asyncio.run(main())
"""


async def test_pod_reaches_api_server_and_rbac_is_enforced(
    kubectl: Kubectl, namespace: str
) -> None:
    k = kubectl.in_namespace(namespace)
    k.apply(
        {"apiVersion": "v1", "kind": "ServiceAccount", "metadata": {"name": "reader"}},
        {"apiVersion": "v1", "kind": "ServiceAccount", "metadata": {"name": "nobody"}},
        {
            "apiVersion": "rbac.authorization.k8s.io/v1",
            "kind": "Role",
            "metadata": {"name": "pod-reader"},
            "rules": [{"apiGroups": [""], "resources": ["pods"], "verbs": ["list"]}],
        },
        {
            "apiVersion": "rbac.authorization.k8s.io/v1",
            "kind": "RoleBinding",
            "metadata": {"name": "reader-reads-pods"},
            "roleRef": {
                "apiGroup": "rbac.authorization.k8s.io",
                "kind": "Role",
                "name": "pod-reader",
            },
            "subjects": [{"kind": "ServiceAccount", "name": "reader"}],
        },
    )
    script = IN_CLUSTER_LIST_PODS.format(namespace=namespace)
    k.apply(job("allowed", script, service_account="reader"))
    k.apply(job("denied", script, service_account="nobody"))
    assert await finished(k, "allowed") == "Complete"
    assert await finished(k, "denied") == "Complete"
    assert "listed" in k.run("logs", "job/allowed")
    assert "status 403" in k.run("logs", "job/denied")


async def test_builtin_cronjob_controller_creates_a_job(kubectl: Kubectl, namespace: str) -> None:
    k = kubectl.in_namespace(namespace)
    k.apply(
        {
            "apiVersion": "batch/v1",
            "kind": "CronJob",
            "metadata": {"name": "every-minute"},
            "spec": {
                "schedule": "* * * * *",
                "jobTemplate": {"spec": job("unused", "print('tick')")["spec"]},
            },
        }
    )
    jobs = await eventually(
        lambda: k.list("jobs"), timeout=90, interval=1, what="a Job from the CronJob"
    )
    owner = jobs[0]["metadata"]["ownerReferences"][0]
    assert (owner["kind"], owner["name"]) == ("CronJob", "every-minute")
