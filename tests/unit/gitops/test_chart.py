"""The chart renders what the project ships: the generated CRDs (kept on uninstall), the
built-in templates, the operator's RBAC rules without Secrets, restricted pods, a webhook
the API server can trust, and monitoring objects only where the cluster serves them."""

from __future__ import annotations

import base64
import json
import re
from typing import Any

import pytest
import yaml
from cryptography import x509

from almanac.operator.observability import Metrics
from almanac.operator.webhookconfig import skip_users_condition
from hack.chart.sync import drift
from tests.unit.gitops.chart import CHART, REPO, helm, render

MONITORING = "monitoring.coreos.com/v1"


def by_kind(objects: list[dict[str, Any]], kind: str) -> list[dict[str, Any]]:
    return [o for o in objects if o["kind"] == kind]


def pod_specs(objects: list[dict[str, Any]]) -> list[tuple[str, dict[str, Any]]]:
    specs = [(o["metadata"]["name"], o["spec"]) for o in by_kind(objects, "Pod")]
    specs += [
        (o["metadata"]["name"], o["spec"]["template"]["spec"])
        for o in by_kind(objects, "Deployment")
    ]
    return specs


def test_helm_lint_is_clean() -> None:
    out = helm("lint", "--strict", str(CHART))
    assert "0 chart(s) failed" in out
    assert "[WARNING]" not in out
    assert "[ERROR]" not in out


def test_chart_copies_of_crds_and_templates_match_the_sources() -> None:
    assert drift() == []


def test_rendered_crds_are_the_generated_ones_and_are_kept_on_uninstall() -> None:
    rendered = {o["metadata"]["name"]: o for o in by_kind(render(), "CustomResourceDefinition")}
    generated = {
        doc["metadata"]["name"]: doc
        for path in sorted((REPO / "crds").glob("*.yaml"))
        for doc in [yaml.safe_load(path.read_text())]
    }
    assert rendered.keys() == generated.keys()
    for name, crd in rendered.items():
        assert crd["spec"] == generated[name]["spec"], name
        assert crd["metadata"]["annotations"] == {"helm.sh/resource-policy": "keep"}
        assert crd["metadata"]["labels"]["app.kubernetes.io/managed-by"] == "Helm"


def test_crds_can_be_left_out_or_released_on_uninstall() -> None:
    assert by_kind(render({"crds.install": "false"}), "CustomResourceDefinition") == []
    unkept = by_kind(render({"crds.keep": "false"}), "CustomResourceDefinition")
    assert unkept
    assert all("annotations" not in c["metadata"] for c in unkept)


def test_builtin_templates_use_the_release_image_and_install_after_the_crds() -> None:
    objects = render({"image.repository": "registry.example/almanac", "image.tag": "1.2.3"})
    rendered = {o["metadata"]["name"]: o for o in by_kind(objects, "ClusterJobTemplate")}
    shipped = {
        path.stem: yaml.safe_load(path.read_text())
        for path in (REPO / "config" / "templates").glob("*.yaml")
    }
    assert rendered.keys() == shipped.keys()
    for name, template in rendered.items():
        expected = dict(shipped[name]["spec"], image="registry.example/almanac:1.2.3")
        assert template["spec"] == expected, name
        hook = template["metadata"]["annotations"]["helm.sh/hook"]
        assert hook == "post-install,post-upgrade", name


def test_the_pull_secrets_reach_the_operator_pods_and_the_built_in_runs() -> None:
    def operator(values: dict[str, str]) -> dict[str, Any]:
        return next(
            d["spec"]["template"]["spec"]
            for d in by_kind(render(values), "Deployment")
            if d["metadata"]["name"].endswith("operator")
        )

    pod = operator({"imagePullSecrets[0].name": "reg-a", "imagePullSecrets[1].name": "reg-b"})
    assert pod["imagePullSecrets"] == [{"name": "reg-a"}, {"name": "reg-b"}]
    env = {e["name"]: e.get("value") for e in pod["containers"][0]["env"]}
    assert env["ALMANAC_RUN_IMAGE_PULL_SECRETS"] == "reg-a,reg-b"
    without = operator({})["containers"][0]["env"]
    assert "ALMANAC_RUN_IMAGE_PULL_SECRETS" not in {e["name"] for e in without}


def test_an_all_digit_image_tag_is_installed_as_text() -> None:
    """A content-hash tag can be all digits; the tests' values pass it with --set-string."""
    objects = render({"image.tag": "548740017674"})
    images = {
        d["metadata"]["name"]: d["spec"]["template"]["spec"]["containers"][0]["image"]
        for d in by_kind(objects, "Deployment")
    }
    assert images
    assert all(image == "almanac:548740017674" for image in images.values()), images


def test_by_default_the_image_is_the_charts_app_version() -> None:
    chart = yaml.safe_load((REPO / "charts" / "almanac" / "Chart.yaml").read_text())
    images = {
        d["spec"]["template"]["spec"]["containers"][0]["image"]
        for d in by_kind(render(), "Deployment")
    }
    assert images == {f"almanac:{chart['appVersion']}"}


def operator_rules() -> list[dict[str, Any]]:
    docs = yaml.safe_load_all((REPO / "config" / "rbac" / "operator.yaml").read_text())
    role = next(d for d in docs if d["kind"] == "ClusterRole")
    rules: list[dict[str, Any]] = role["rules"]
    return rules


def test_operator_rules_are_those_of_config_rbac() -> None:
    """The chart splits off the cluster-scoped access reviews and PriorityClass reads (a
    ClusterRole each, in every mode); together its rules are config/rbac's."""
    roles = {r["metadata"]["name"]: r for r in by_kind(render(), "ClusterRole")}
    operator = next(r for n, r in roles.items() if n.endswith("-operator"))
    reviews = next(r for n, r in roles.items() if n.endswith("-operator-access-review"))
    classes = next(r for n, r in roles.items() if n.endswith("-operator-priorityclasses"))
    assert operator["rules"] + reviews["rules"] + classes["rules"] == operator_rules()


def test_the_access_review_role_is_bound_in_namespaced_mode_too() -> None:
    objects = render({"rbac.namespacedOnly": "true"})
    bound = [b["roleRef"]["name"] for b in by_kind(objects, "ClusterRoleBinding")]
    assert any(name.endswith("-operator-access-review") for name in bound)
    assert any(name.endswith("-operator-priorityclasses") for name in bound)


def test_launch_limits_reach_the_operator_only_when_set() -> None:
    def env(objects: list[dict[str, Any]]) -> dict[str, str]:
        operator = next(
            d for d in by_kind(objects, "Deployment") if d["metadata"]["name"].endswith("operator")
        )
        [container] = operator["spec"]["template"]["spec"]["containers"]
        return {e["name"]: e.get("value") for e in container["env"]}

    assert not any(name.startswith("ALMANAC_MAX_ACTIVE") for name in env(render()))
    limited = env(
        render(
            {
                "operator.limits.maxActiveRunsPerNamespace": "2",
                "operator.limits.launchesPerSecond": "0.5",
            }
        )
    )
    assert limited["ALMANAC_MAX_ACTIVE_RUNS_PER_NAMESPACE"] == "2"
    assert limited["ALMANAC_LAUNCHES_PER_SECOND"] == "0.5"
    assert "ALMANAC_MAX_ACTIVE_RUNS" not in limited


@pytest.mark.parametrize(
    ("values", "bindings"),
    [
        pytest.param({}, {("ClusterRoleBinding", None)}, id="cluster-wide"),
        pytest.param(
            {"watchNamespaces": "{team-a,team-b}"},
            {("RoleBinding", "team-a"), ("RoleBinding", "team-b"), ("ClusterRoleBinding", None)},
            id="namespace-list",
        ),
        pytest.param(
            {"rbac.namespacedOnly": "true"},
            {("RoleBinding", "almanac-system"), ("ClusterRoleBinding", None)},
            id="namespaced-only",
        ),
    ],
)
def test_rbac_modes_bind_the_operator_where_it_watches(
    values: dict[str, str], bindings: set[tuple[str, str | None]]
) -> None:
    objects = render({"facade.enabled": "false", **values})
    found = {
        (b["kind"], b["metadata"].get("namespace") if b["kind"] == "RoleBinding" else None)
        for b in objects
        if b["kind"] in ("RoleBinding", "ClusterRoleBinding")
        and not b["metadata"]["name"].endswith(("-lease", "-test"))
    }
    assert found == bindings
    cluster_roles = by_kind(objects, "ClusterRole")
    if values:
        # Only reading ClusterJobTemplates is granted cluster-wide.
        cluster_bound = [r for r in cluster_roles if r["metadata"]["name"].endswith("-templates")]
        assert cluster_bound[0]["rules"] == [
            {
                "apiGroups": ["almanac.dev"],
                "resources": ["clusterjobtemplates"],
                "verbs": ["get", "list", "watch"],
            }
        ]
    operator = next(
        d for d in by_kind(objects, "Deployment") if d["metadata"]["name"].endswith("operator")
    )
    container = operator["spec"]["template"]["spec"]["containers"][0]
    env = {e["name"]: e.get("value") for e in container["env"]}
    expected = {"": "", "watchNamespaces": "team-a,team-b", "rbac.namespacedOnly": "almanac-system"}
    assert env["ALMANAC_WATCH_NAMESPACES"] == expected[next(iter(values), "")]


def test_no_role_grants_secrets() -> None:
    for values in ({}, {"watchNamespaces": "{a}"}, {"rbac.namespacedOnly": "true"}):
        for role in [o for o in render(values) if o["kind"] in ("Role", "ClusterRole")]:
            for rule in role["rules"]:
                assert "secrets" not in rule["resources"], role["metadata"]["name"]
                assert "*" not in rule["resources"] + rule["verbs"], role["metadata"]["name"]


def test_the_facade_reads_events_and_writes_none() -> None:
    """A job's Events (``GET /jobs/{id}/events``) need ``list`` on core Events only: the
    facade neither watches nor posts them (the operator posts them)."""
    (facade,) = [
        r for r in by_kind(render(), "ClusterRole") if r["metadata"]["name"].endswith("-facade")
    ]
    events = [r for r in facade["rules"] if "events" in r["resources"]]
    assert events == [{"apiGroups": [""], "resources": ["events"], "verbs": ["list"]}]
    # Control: without the facade, no facade role and so no Events read for it.
    without = render({"facade.enabled": "false"})
    assert not [
        r for r in by_kind(without, "ClusterRole") if r["metadata"]["name"].endswith("-facade")
    ]


def test_every_pod_passes_the_restricted_pod_security_standard() -> None:
    specs = pod_specs(render())
    assert len(specs) == 3  # operator, facade, helm test
    for name, spec in specs:
        assert spec["securityContext"]["runAsNonRoot"] is True, name
        assert spec["securityContext"]["seccompProfile"] == {"type": "RuntimeDefault"}, name
        assert "hostNetwork" not in spec, name
        assert "hostPID" not in spec, name
        for container in spec["containers"]:
            ctx = container["securityContext"]
            assert ctx["allowPrivilegeEscalation"] is False, name
            assert ctx["capabilities"] == {"drop": ["ALL"]}, name
            assert ctx["readOnlyRootFilesystem"] is True, name
            assert container["imagePullPolicy"] in ("IfNotPresent", "Never"), name
        for volume in spec.get("volumes", []):
            assert "hostPath" not in volume, name


def test_operator_runs_two_replicas_with_probes_spread_and_a_budget() -> None:
    objects = render()
    operator = next(
        d for d in by_kind(objects, "Deployment") if d["metadata"]["name"].endswith("operator")
    )
    spec = operator["spec"]
    assert spec["replicas"] == 2
    assert spec["strategy"]["rollingUpdate"] == {"maxSurge": 1, "maxUnavailable": 0}
    pod = spec["template"]["spec"]
    container = pod["containers"][0]
    assert container["livenessProbe"]["httpGet"]["path"] == "/healthz"
    assert container["readinessProbe"]["httpGet"]["path"] == "/readyz"
    assert container["resources"]["requests"].keys() == {"cpu", "memory"}
    assert "preferredDuringSchedulingIgnoredDuringExecution" in pod["affinity"]["podAntiAffinity"]
    (budget,) = by_kind(objects, "PodDisruptionBudget")
    assert budget["spec"]["minAvailable"] == 1
    assert by_kind(render({"operator.replicas": "1"}), "PodDisruptionBudget") == []


def test_webhook_is_reached_through_the_service_with_a_certificate_it_trusts() -> None:
    objects = render(namespace="ops")
    (config,) = by_kind(objects, "ValidatingWebhookConfiguration")
    (secret,) = [s for s in by_kind(objects, "Secret") if s["type"] == "kubernetes.io/tls"]
    service = next(
        s for s in by_kind(objects, "Service") if s["metadata"]["name"].endswith("operator")
    )
    serving = x509.load_pem_x509_certificate(base64.b64decode(secret["data"]["tls.crt"]))
    names = serving.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert f"{service['metadata']['name']}.ops.svc" in names.get_values_for_type(x509.DNSName)
    for hook in config["webhooks"]:
        client = hook["clientConfig"]
        assert client["service"]["name"] == service["metadata"]["name"]
        assert client["service"]["namespace"] == "ops"
        ca = x509.load_pem_x509_certificate(base64.b64decode(client["caBundle"]))
        serving.verify_directly_issued_by(ca)
        assert hook["failurePolicy"] == "Fail"


def test_facade_writes_skip_the_scheduledjob_webhook_and_only_those() -> None:
    objects = render(namespace="ops")
    (config,) = by_kind(objects, "ValidatingWebhookConfiguration")
    (account,) = [
        a for a in by_kind(objects, "ServiceAccount") if a["metadata"]["name"].endswith("facade")
    ]
    user = f"system:serviceaccount:ops:{account['metadata']['name']}"
    scheduled_jobs, *templates, run_requests = config["webhooks"]
    assert scheduled_jobs["matchConditions"] == [skip_users_condition([user])]
    assert all("matchConditions" not in h for h in templates)
    operator = f"system:serviceaccount:ops:{_operator_account(objects)}"
    assert run_requests["rules"][0]["resources"] == ["runrequests"]
    assert _skipped_users(run_requests) == [operator, user]
    objects = render({"facade.enabled": "false"}, namespace="ops")
    (config,) = by_kind(objects, "ValidatingWebhookConfiguration")
    *others, run_requests = config["webhooks"]
    assert all("matchConditions" not in h for h in others)
    assert _skipped_users(run_requests) == [operator]


def _operator_account(objects: list[dict[str, Any]]) -> str:
    (deployment,) = [
        d for d in by_kind(objects, "Deployment") if d["metadata"]["name"].endswith("operator")
    ]
    return str(deployment["spec"]["template"]["spec"]["serviceAccountName"])


def _skipped_users(hook: dict[str, Any]) -> list[str]:
    """The users a hook's matchCondition sends no review for (the only RunRequest writers)."""
    (condition,) = hook["matchConditions"]
    prefix, suffix = "!(request.userInfo.username in [", "])"
    expression = condition["expression"]
    assert expression.startswith(prefix), expression
    assert expression.endswith(suffix), expression
    return list(json.loads("[" + expression[len(prefix) : -len(suffix)] + "]"))


def test_webhook_validates_only_the_watched_namespaces() -> None:
    objects = render({"watchNamespaces": "{team-a}"})
    (config,) = by_kind(objects, "ValidatingWebhookConfiguration")
    namespaced = [h for h in config["webhooks"] if "namespaceSelector" in h]
    assert len(namespaced) == 3  # ScheduledJobs, JobTemplates, RunRequests
    for hook in namespaced:
        (expression,) = hook["namespaceSelector"]["matchExpressions"]
        assert expression == {
            "key": "kubernetes.io/metadata.name",
            "operator": "In",
            "values": ["team-a"],
        }


def test_cert_manager_issues_the_certificate_when_asked_and_available() -> None:
    objects = render({"webhook.certManager.enabled": "true"}, api_versions=["cert-manager.io/v1"])
    (certificate,) = by_kind(objects, "Certificate")
    (config,) = by_kind(objects, "ValidatingWebhookConfiguration")
    assert config["metadata"]["annotations"]["cert-manager.io/inject-ca-from"] == (
        f"almanac-system/{certificate['metadata']['name']}"
    )
    assert all("caBundle" not in h["clientConfig"] for h in config["webhooks"])
    assert by_kind(objects, "Issuer")
    assert not [s for s in by_kind(objects, "Secret") if s["type"] == "kubernetes.io/tls"]
    with pytest.raises(Exception, match=r"needs cert-manager \(API cert-manager.io/v1\)"):
        render({"webhook.certManager.enabled": "true"})


def test_monitoring_objects_only_where_the_cluster_serves_them() -> None:
    assert by_kind(render(), "ServiceMonitor") == []
    assert by_kind(render(), "PrometheusRule") == []
    objects = render(api_versions=[MONITORING])
    monitors = {m["metadata"]["name"]: m["spec"] for m in by_kind(objects, "ServiceMonitor")}
    assert len(monitors) == 2, monitors.keys()
    (facade,) = [m for name, m in monitors.items() if name.endswith("-facade")]
    assert facade["endpoints"][0]["port"] == "http-metrics"
    assert facade["selector"]["matchLabels"]["app.kubernetes.io/component"] == "facade"
    (rule,) = by_kind(objects, "PrometheusRule")
    alerts = {r["alert"] for g in rule["spec"]["groups"] for r in g["rules"]}
    assert {
        "AlmanacOperatorDown",
        "AlmanacNoLeader",
        "AlmanacScheduleLagHigh",
        "AlmanacRunsFailing",
        "AlmanacHistoryBacklog",
        "AlmanacNotificationBacklog",
    } <= alerts


def exposed_series() -> set[str]:
    names = set()
    for metric in Metrics().registry.collect():
        names.add(metric.name + ("_total" if metric.type == "counter" else ""))
        if metric.type == "histogram":
            names.update(f"{metric.name}_{suffix}" for suffix in ("bucket", "sum", "count"))
        names.update(sample.name for sample in metric.samples)
    return names


def test_alerts_and_dashboard_use_series_the_operator_exposes() -> None:
    (rule,) = by_kind(render(api_versions=[MONITORING]), "PrometheusRule")
    exprs = " ".join(r["expr"] for g in rule["spec"]["groups"] for r in g["rules"])
    (dashboard,) = [c for c in by_kind(render(), "ConfigMap") if "almanac.json" in c["data"]]
    panels = json.loads(dashboard["data"]["almanac.json"])["panels"]
    exprs += " ".join(t["expr"] for p in panels for t in p["targets"])
    used = set(re.findall(r"almanac_[a-z_]+", exprs))
    assert used <= exposed_series(), used - exposed_series()


def test_alerts_carry_runbook_links_only_with_a_base_url() -> None:
    """Where the links lead is tests/unit/docs/test_runbooks.py's business."""
    linked = render(
        {"metrics.prometheusRule.runbookBaseUrl": "https://x/rb/"}, api_versions=[MONITORING]
    )
    (rule,) = by_kind(linked, "PrometheusRule")
    for alert in (r for g in rule["spec"]["groups"] for r in g["rules"]):
        assert alert["annotations"]["runbook_url"].startswith("https://x/rb/"), alert["alert"]
    (rule,) = by_kind(render(api_versions=[MONITORING]), "PrometheusRule")
    for alert in (r for g in rule["spec"]["groups"] for r in g["rules"]):
        assert "runbook_url" not in alert["annotations"], alert["alert"]


def test_network_policies_admit_only_the_served_ports() -> None:
    policies = {
        p["spec"]["podSelector"]["matchLabels"]["app.kubernetes.io/component"]: p["spec"]
        for p in by_kind(render(), "NetworkPolicy")
    }
    ports = {
        component: sorted(port["port"] for rule in spec["ingress"] for port in rule["ports"])
        for component, spec in policies.items()
    }
    # The facade: its ops port, and its API port for nobody until facade.gateway names the
    # gateway (test_chart_tenancy.py).
    assert ports == {"operator": [8080, 9443], "facade": [8081], "test": []}
