"""The Helm chart on the local stack: install, runs from the real image, leader failover,
rolling upgrade, RBAC, metrics, GitOps server-side apply, `helm test`, uninstall.

The tests share one release (see conftest.py) and run in file order; the last one
uninstalls it.
"""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.request
from typing import Any

import pytest
import yaml

from tests.e2e.conftest import FACADE_BUILT, Release, events
from tests.integration.operator_support import almanac_jobs, jobs_at_least, slots
from tests.support import Kubectl, KubectlError, eventually
from tests.unit.gitops.argocd import health
from tests.unit.gitops.chart import CHART, HelmError

EVERY = 5
FAILOVER_LIMIT = 15.0
DOCUMENTED_SERIES = (
    "almanac_runs_launched_total",
    "almanac_runs_finished_total",
    "almanac_slots_skipped_total",
    "almanac_schedule_lag_seconds",
    "almanac_active_runs",
    "almanac_scheduler_heap_size",
    "almanac_scheduledjobs",
    "almanac_is_leader",
    "almanac_reconcile_errors_total",
    "almanac_status_writes_total",
)


def every_slot_job(name: str, **spec: Any) -> dict[str, Any]:
    """A ScheduledJob due every EVERY seconds that keeps its Jobs and catches up every
    missed slot, so a gap or a double would show in its Jobs."""
    return {
        "apiVersion": "almanac.dev/v1alpha1",
        "kind": "ScheduledJob",
        "metadata": {"name": name},
        "spec": {
            "template": "command",
            "params": {"command": ["true"]},
            "schedule": {"every": f"{EVERY}s"},
            "overlapPolicy": "Allow",
            "catchUp": {"window": "1m", "maxRuns": 20},
            "history": {"successfulJobs": 100, "failedJobs": 100},
            **spec,
        },
    }


def assert_every_slot_once(slot_list: list[int]) -> None:
    assert len(slot_list) == len(set(slot_list)), f"a slot ran twice: {slot_list}"
    expected = list(range(slot_list[0], slot_list[-1] + EVERY, EVERY))
    assert slot_list == expected, f"slots missing: {sorted(set(expected) - set(slot_list))}"


def fetch(url: str) -> str:
    with urllib.request.urlopen(url, timeout=5) as response:
        return str(response.read().decode())


async def both_ready(release: Release) -> list[str]:
    def ready() -> list[str] | None:
        names = release.ready_operator_pods()
        return names if len(names) == 2 and len(release.operator_pods()) == 2 else None

    return await eventually(ready, timeout=120, what="two Ready operator replicas")


async def test_install_runs_two_ready_replicas_under_one_lease_holder(release: Release) -> None:
    pods = await both_ready(release)
    leader = await eventually(release.leader, timeout=30, what="a Lease holder")
    assert leader in pods
    readiness = {
        name: release.kubectl.run("exec", "-n", release.namespace, name, "--", "python3", "-c",
            "import urllib.request as u;"
            "print(u.urlopen('http://127.0.0.1:8080/readyz').read().decode().strip())").strip()
        for name in pods
    }  # fmt: skip
    assert sorted(readiness.values()) == ["leader", "standby"], readiness
    assert readiness[leader] == "leader"
    if FACADE_BUILT:
        facade = release.kubectl.list(
            "pods", f"app.kubernetes.io/instance={release.name},app.kubernetes.io/component=facade"
        )
        assert facade, "the facade is deployed"
        ip = facade[0]["status"]["podIP"]
        assert fetch(f"http://{ip}:8000/healthz")
        # Its metrics are on the ops port the ServiceMonitor scrapes, not the API port.
        assert "\n# TYPE almanac_api_requests_total counter" in fetch(f"http://{ip}:8081/metrics")
        with pytest.raises(urllib.error.HTTPError) as refused:
            fetch(f"http://{ip}:8000/metrics")
        assert refused.value.code == 404


async def test_a_scheduledjob_runs_from_pods_of_the_release_image(release: Release) -> None:
    k = release.kubectl
    k.apply(every_slot_job("sample"))
    try:

        def succeeded() -> list[dict[str, Any]] | None:
            done = [j for j in almanac_jobs(k, "sample") if j["status"].get("succeeded")]
            return done or None

        jobs = await eventually(succeeded, timeout=90, what=f"a succeeded run; {events(k)}")
        container = jobs[0]["spec"]["template"]["spec"]["containers"][0]
        assert container["image"] == release.image
        pods = k.list("pods", f"job-name={jobs[0]['metadata']['name']}")
        assert pods[0]["status"]["phase"] == "Succeeded"
        assert health(k.get("scheduledjob", "sample"))[0] == "Healthy"
    finally:
        k.run("delete", "scheduledjob", "sample", "--ignore-not-found")


async def test_metrics_endpoint_exposes_the_documented_series(release: Release) -> None:
    pods = await both_ready(release)
    leader = release.leader()
    ip = next(
        p["status"]["podIP"] for p in release.operator_pods() if p["metadata"]["name"] == leader
    )
    page = fetch(f"http://{ip}:8080/metrics")
    for series in DOCUMENTED_SERIES:
        # Labelled series without a sample yet still declare their family.
        assert f"\n# TYPE {series} " in page, series
    assert "almanac_is_leader 1.0" in page
    assert leader in pods


def can_i(
    release: Release, verb: str, resource: str, namespace: str, *extra: str, sa: str = ""
) -> bool:
    account = f"system:serviceaccount:{release.namespace}:{sa or release.operator}"
    try:
        release.kubectl.run(
            "auth", "can-i", verb, resource, "-n", namespace, f"--as={account}", *extra
        )
    except KubectlError:
        return False  # "no" exits 1
    return True


async def test_operator_service_account_cannot_read_secrets(release: Release) -> None:
    account = f"system:serviceaccount:{release.namespace}:{release.operator}"
    with pytest.raises(KubectlError, match=r"(?i)forbidden.*cannot list resource \"secrets\""):
        release.kubectl.run("get", "secrets", f"--as={account}")
    assert not can_i(release, "get", "secrets", release.namespace)
    assert can_i(release, "create", "jobs.batch", release.namespace)
    assert can_i(
        release, "patch", "scheduledjobs.almanac.dev", release.namespace, "--subresource=status"
    )
    # Its one spec write is the pause after repeated failures (spec.pauseAfterFailures).
    assert can_i(release, "patch", "scheduledjobs.almanac.dev", release.namespace)
    assert not can_i(release, "update", "scheduledjobs.almanac.dev", release.namespace)
    assert not can_i(release, "delete", "scheduledjobs.almanac.dev", release.namespace)
    # Namespace-list mode: nothing in a namespace it does not watch.
    assert not can_i(release, "create", "jobs.batch", "default")


async def test_the_webhook_reviews_everyone_but_the_facade(release: Release) -> None:
    """The facade checks specs itself before writing, so the chart's matchCondition skips
    the webhook for its ServiceAccount (and for nobody else) on the real API server."""
    if not FACADE_BUILT:
        pytest.fail("the chart's facade is not built")
    bad = every_slot_job("never-valid")
    bad["spec"]["schedule"] = {"cron": "61 * * * *"}
    with pytest.raises(KubectlError, match=r"minute value 61 is out of range 0-59"):
        release.kubectl.run("create", "--dry-run=server", "-f", "-", stdin=json.dumps(bad))
    account = f"system:serviceaccount:{release.namespace}:{release.facade}"
    created = release.kubectl.run(
        "create", "--dry-run=server", f"--as={account}", "-o", "json", "-f", "-",
        stdin=json.dumps(bad),
    )  # fmt: skip
    assert json.loads(created)["spec"]["schedule"]["cron"] == "61 * * * *"


async def test_only_the_operator_and_the_facade_write_runrequests(release: Release) -> None:
    """A RunRequest launches its ScheduledJob with the params it carries: the chart's
    webhook refuses every writer but the operator and the facade (even a cluster admin),
    and the facade asks for backfills with RunRequests, holding no Job create right."""
    if not FACADE_BUILT:
        pytest.fail("the chart's facade is not built")
    request = {
        "apiVersion": "almanac.dev/v1alpha1",
        "kind": "RunRequest",
        "metadata": {"name": "forged"},
        "spec": {
            "scheduledJob": "victim",
            "kind": "backfill",
            "dueTime": "2026-01-01T00:00:00Z",
            "source": {"id": "backfill:2026-01-01T00:00:00Z"},
        },
    }
    body = json.dumps(request)
    with pytest.raises(KubectlError, match=r"written only by the Almanac operator"):
        release.kubectl.run("create", "--dry-run=server", "-f", "-", stdin=body)
    for sa in (release.operator, release.facade):
        account = f"system:serviceaccount:{release.namespace}:{sa}"
        release.kubectl.run(
            "create", "--dry-run=server", f"--as={account}", "-f", "-", stdin=body
        )  # fmt: skip
    facade = release.facade
    assert can_i(release, "create", "runrequests.almanac.dev", release.namespace, sa=facade)
    assert not can_i(release, "create", "jobs.batch", release.namespace, sa=facade)


async def test_the_facade_lists_events_and_writes_none(release: Release) -> None:
    """``GET /jobs/{id}/events`` lists a job's Events in its organisation's namespace: the
    facade's ServiceAccount may list them there and nothing more (the operator posts)."""
    facade = release.facade
    assert can_i(release, "list", "events", "default", sa=facade)
    for verb in ("create", "patch", "delete", "watch"):
        assert not can_i(release, verb, "events", "default", sa=facade), verb


async def test_the_facade_admits_only_the_configured_gateway(release: Release) -> None:
    """Installed with facade.gateway.from naming the tests' own address, the facade's
    NetworkPolicy admits that peer to the API port and nobody else. The stack's CNI does
    not enforce policies, so this checks the object the API server holds."""
    if not FACADE_BUILT:
        pytest.fail("the chart's facade is not built")
    ingress = release.kubectl.get("networkpolicy", release.facade)["spec"]["ingress"]
    api_rules = [r for r in ingress if {"protocol": "TCP", "port": 8000} in r["ports"]]
    assert all(rule.get("from") for rule in api_rules), f"API port open to every peer: {ingress}"
    # Open to all: only the ops port (probes, metrics; nothing that reads an identity).
    assert ingress == [
        {"ports": [{"protocol": "TCP", "port": 8081}]},
        {"from": [release.gateway_peer], "ports": [{"protocol": "TCP", "port": 8000}]},
    ]


def apply_as_gitops(k: Kubectl, manifest: dict[str, Any]) -> str:
    """Server-side apply as Argo CD does it (no --force-conflicts: a conflict fails)."""
    return k.run(
        "apply", "--server-side", "--field-manager=argocd-controller", "-f", "-",
        stdin=yaml.safe_dump(manifest),
    )  # fmt: skip


def fields_owned_outside_status(obj: dict[str, Any]) -> dict[str, list[str]]:
    owned: dict[str, list[str]] = {}
    for entry in obj["metadata"].get("managedFields", []):
        if entry.get("subresource") == "status":
            continue
        owned[entry["manager"]] = sorted(entry.get("fieldsV1", {}))
    return owned


async def test_gitops_server_side_apply_sees_no_drift_while_runs_happen(release: Release) -> None:
    k = release.kubectl
    manifest = every_slot_job("from-git")
    manifest["metadata"].update(
        labels={"team": "a", "app.kubernetes.io/managed-by": "argocd"},
        annotations={"argocd.argoproj.io/tracking-id": "schedules:almanac.dev/ScheduledJob:x"},
    )
    apply_as_gitops(k, manifest)
    applied = k.get("scheduledjob", "from-git")
    try:
        await jobs_at_least(k, "from-git", 2, timeout=60)
        await eventually(
            lambda: (k.get("scheduledjob", "from-git").get("status") or {}).get("lastRun"),
            timeout=30,
            what="a run in status",
        )
        assert "serverside-applied" in apply_as_gitops(k, manifest)
        obj = json.loads(
            k.run("get", "scheduledjob", "from-git", "-o", "json", "--show-managed-fields")
        )
        # Only the API server's defaults (suspend, timeZone) were added, at the first apply.
        assert obj["spec"] == applied["spec"]
        assert obj["spec"]["params"] == manifest["spec"]["params"]
        assert obj["metadata"]["labels"] == manifest["metadata"]["labels"]
        assert obj["metadata"]["annotations"] == manifest["metadata"]["annotations"]
        assert obj["metadata"]["generation"] == 1
        assert "finalizers" not in obj["metadata"]
        assert list(fields_owned_outside_status(obj)) == ["argocd-controller"]
        assert health(obj)[0] == "Healthy"
    finally:
        k.run("delete", "scheduledjob", "from-git", "--ignore-not-found")


async def test_killing_the_leader_pod_hands_over_within_15_s_without_missed_slots(
    release: Release,
) -> None:
    k = release.kubectl
    await both_ready(release)
    k.apply(every_slot_job("steady"))
    try:
        before = await jobs_at_least(k, "steady", 2, timeout=60)
        old = release.leader()
        killed_at = time.monotonic()
        k.run("delete", "pod", old, "--grace-period=0", "--force", "--wait=false")
        new = await eventually(
            lambda: (holder := release.leader()) != old and holder,
            timeout=FAILOVER_LIMIT + 5,
            interval=0.25,
            what="another replica holding the Lease",
        )
        took = time.monotonic() - killed_at
        assert took <= FAILOVER_LIMIT, f"Lease taken over {took:.1f}s after the kill"
        await jobs_at_least(k, "steady", len(before) + 2, timeout=FAILOVER_LIMIT + EVERY)
        assert new in release.ready_operator_pods() or new in [
            p["metadata"]["name"] for p in release.operator_pods()
        ]
        await both_ready(release)
        jobs = await jobs_at_least(k, "steady", len(almanac_jobs(k, "steady")) + 1)
        assert_every_slot_once(slots(jobs))
    finally:
        k.run("delete", "scheduledjob", "steady", "--ignore-not-found")


def webhook_ca_bundles(release: Release) -> list[str]:
    config = release.kubectl.list(
        "validatingwebhookconfigurations", f"app.kubernetes.io/instance={release.name}"
    )
    return [h["clientConfig"]["caBundle"] for c in config for h in c["webhooks"]]


async def test_upgrade_with_changed_values_rolls_without_missed_slots(release: Release) -> None:
    k = release.kubectl
    await both_ready(release)
    old_pods = set(await both_ready(release))
    k.apply(every_slot_job("rolling"))
    try:
        await jobs_at_least(k, "rolling", 2, timeout=60)
        bundle = webhook_ca_bundles(release)
        release.helm(
            "upgrade", release.name, str(CHART), "--reuse-values", "--wait", "--timeout", "4m",
            "--set", "operator.launchConcurrency=16",
        )  # fmt: skip
        new_pods = set(await both_ready(release))
        assert not new_pods & old_pods, "every replica was replaced"
        for pod in release.operator_pods():
            env = {e["name"]: e.get("value") for e in pod["spec"]["containers"][0]["env"]}
            assert env["ALMANAC_LAUNCH_CONCURRENCY"] == "16"
        # The old leader may still be terminating when --wait returns; it releases the Lease
        # on SIGTERM and a new replica takes it.
        await eventually(
            lambda: release.leader() in new_pods, timeout=30, what="a new replica leading"
        )
        assert webhook_ca_bundles(release) == bundle, "the chart-made certificates are kept"
        jobs = await jobs_at_least(k, "rolling", len(almanac_jobs(k, "rolling")) + 1)
        assert_every_slot_once(slots(jobs))
    finally:
        k.run("delete", "scheduledjob", "rolling", "--ignore-not-found")


async def test_helm_test_runs_a_one_time_scheduledjob(release: Release) -> None:
    out = release.helm("test", release.name, "--timeout", "4m", "--logs")
    assert "Phase:          Succeeded" in out
    assert "succeeded" in out.split("POD LOGS")[-1]


async def test_install_with_bad_values_is_refused_with_the_schema_message(
    release: Release,
) -> None:
    with pytest.raises(HelmError) as refused:
        release.helm(
            "install", "refused", str(CHART), "--set", "operator.replicas=-1", "--dry-run=server"
        )
    assert "at '/operator/replicas': minimum: got -1, want 0" in refused.value.stderr
    releases = json.loads(release.helm("list", "-o", "json"))
    assert [r["name"] for r in releases] == [release.name]


async def test_uninstall_removes_the_operator_and_keeps_scheduledjobs_and_crds(
    release: Release,
) -> None:
    k = release.kubectl
    k.apply(every_slot_job("survivor", suspend=True))
    release.helm("uninstall", release.name, "--wait", "--timeout", "2m")
    await eventually(
        lambda: not release.operator_pods() and not k.list("deployments"),
        timeout=60,
        what="operator pods and Deployments gone",
    )
    selector = f"app.kubernetes.io/instance={release.name}"
    assert not json.loads(
        k.run("get", "validatingwebhookconfigurations,clusterroles", "-l", selector, "-o", "json")
    )["items"]
    assert k.get("scheduledjob", "survivor")["spec"]["suspend"] is True
    crd = k.get("crd", "scheduledjobs.almanac.dev")
    assert crd["metadata"]["annotations"]["helm.sh/resource-policy"] == "keep"
