"""The run pod built from a template and a ``spec.podTemplate`` overlay: each field lands
where Kubernetes reads it, Almanac's additions and restricted defaults stay."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from almanac.core.errors import InvalidSpecError
from almanac.core.podsecurity import RESTRICTED_CONTAINER, RUN_USER
from almanac.core.podtemplate import NameReference
from almanac.core.resource import parse_spec
from almanac.core.runs import RUN_CONTAINER, RunRequest, build_job, builtin_template
from almanac.core.templates import JobTemplateSpec

SLOT = datetime(2026, 3, 29, 1, 30, tzinfo=UTC)
COMMAND = builtin_template("command", "localhost/almanac:dev")


def _job(template: JobTemplateSpec = COMMAND, **pod: Any) -> dict[str, Any]:
    spec = parse_spec(
        {
            "template": "command",
            "params": {"command": ["true"]},
            "schedule": {"every": "1h"},
            **({"podTemplate": pod} if pod else {}),
        }
    )
    return build_job(
        name="nightly",
        namespace="org-1",
        uid="u-1",
        spec=spec,
        run=RunRequest(SLOT),
        template=template,
    )


def _pod(template: JobTemplateSpec = COMMAND, **pod: Any) -> dict[str, Any]:
    result: dict[str, Any] = _job(template, **pod)["spec"]["template"]["spec"]
    return result


def _run(pod_spec: dict[str, Any]) -> dict[str, Any]:
    (container,) = [c for c in pod_spec["containers"] if c["name"] == RUN_CONTAINER]
    return dict(container)


def test_without_overlay_the_pod_is_restricted_and_has_only_almanacs_volume() -> None:
    pod = _pod()
    assert pod["securityContext"]["runAsUser"] == RUN_USER
    assert _run(pod)["securityContext"] == dict(RESTRICTED_CONTAINER)
    assert [v["name"] for v in pod["volumes"]] == ["almanac-tmp"]
    for absent in ("initContainers", "imagePullSecrets", "affinity", "priorityClassName"):
        assert absent not in pod, absent
    assert _run(pod)["imagePullPolicy"] == "IfNotPresent"


PVC = {"name": "data", "persistentVolumeClaim": {"claimName": "reports"}}

POD_FIELDS: dict[str, tuple[dict[str, Any], str, Any]] = {
    "affinity": (
        {"affinity": {"nodeAffinity": {"x": 1}}},
        "affinity",
        {"nodeAffinity": {"x": 1}},
    ),
    "topology-spread": (
        {"topologySpreadConstraints": [{"maxSkew": 1, "topologyKey": "zone"}]},
        "topologySpreadConstraints",
        [{"maxSkew": 1, "topologyKey": "zone"}],
    ),
    "priority-class": ({"priorityClassName": "batch-low"}, "priorityClassName", "batch-low"),
    "runtime-class": ({"runtimeClassName": "gvisor"}, "runtimeClassName", "gvisor"),
    "host-aliases": (
        {"hostAliases": [{"ip": "10.0.0.9", "hostnames": ["db.local"]}]},
        "hostAliases",
        [{"ip": "10.0.0.9", "hostnames": ["db.local"]}],
    ),
    "dns-config": (
        {"dnsConfig": {"searches": ["corp.example"]}},
        "dnsConfig",
        {"searches": ["corp.example"]},
    ),
    "pull-secrets": (
        {"imagePullSecrets": [{"name": "regcred"}]},
        "imagePullSecrets",
        [{"name": "regcred"}],
    ),
}


@pytest.mark.parametrize(("overlay", "key", "expected"), POD_FIELDS.values(), ids=POD_FIELDS)
def test_a_pod_field_lands_under_its_podspec_name(
    overlay: dict[str, Any], key: str, expected: Any
) -> None:
    assert _pod(**overlay)[key] == expected


def test_volumes_are_added_after_almanacs_and_mounted_in_the_run_container() -> None:
    pod = _pod(
        volumes=[PVC],
        volumeMounts=[{"name": "data", "mountPath": "/data", "readOnly": True}],
        workingDir="/data",
    )
    assert pod["volumes"][-1] == PVC
    run = _run(pod)
    assert run["volumeMounts"][0] == {"name": "almanac-tmp", "mountPath": "/tmp"}
    assert run["volumeMounts"][-1] == {"name": "data", "mountPath": "/data", "readOnly": True}
    assert run["workingDir"] == "/data"


def test_params_secrets_keep_their_almanac_named_volumes_beside_the_overlays() -> None:
    spec = parse_spec(
        {
            "template": "http",
            "params": {"url": "https://x.test", "h": {"secretKeyRef": {"name": "db", "key": "k"}}},
            "schedule": {"every": "1h"},
            "podTemplate": {"volumes": [{"name": "cfg", "configMap": {"name": "settings"}}]},
        }
    )
    job = build_job(
        name="n", namespace="o", uid="u", spec=spec, run=RunRequest(SLOT), template=COMMAND
    )
    names = [v["name"] for v in job["spec"]["template"]["spec"]["volumes"]]
    assert names == ["almanac-tmp", "almanac-secret-0", "cfg"]


def test_init_container_and_sidecar_keep_order_and_get_restricted_defaults() -> None:
    pod = _pod(
        initContainers=[
            {"name": "fetch", "image": "busybox:1.36", "command": ["true"]},
            {
                "name": "proxy",
                "image": "busybox:1.36",
                "restartPolicy": "Always",
                "securityContext": {"runAsUser": 2000},
            },
        ]
    )
    fetch, proxy = pod["initContainers"]
    assert fetch["name"] == "fetch"
    assert "restartPolicy" not in fetch
    assert fetch["securityContext"] == dict(RESTRICTED_CONTAINER)
    assert proxy["restartPolicy"] == "Always"
    assert proxy["securityContext"] == {**RESTRICTED_CONTAINER, "runAsUser": 2000}
    assert pod["restartPolicy"] == "Never"


def test_security_contexts_override_only_the_fields_they_set() -> None:
    pod = _pod(
        securityContext={"runAsUser": 3000, "fsGroup": 3000},
        containerSecurityContext={"readOnlyRootFilesystem": False},
    )
    assert pod["securityContext"]["runAsUser"] == 3000
    assert pod["securityContext"]["runAsNonRoot"] is True
    assert pod["securityContext"]["seccompProfile"] == {"type": "RuntimeDefault"}
    run = _run(pod)["securityContext"]
    assert run["readOnlyRootFilesystem"] is False
    assert run["capabilities"] == {"drop": ["ALL"]}
    assert run["allowPrivilegeEscalation"] is False


def test_job_fields_land_on_the_job_and_retries_stay_almanacs() -> None:
    job = _job(
        job={
            "parallelism": 2,
            "completions": 4,
            "completionMode": "Indexed",
            "ttlSecondsAfterFinished": 600,
            "podFailurePolicy": {"rules": [{"action": "FailJob"}]},
        }
    )["spec"]
    assert (job["parallelism"], job["completions"], job["completionMode"]) == (2, 4, "Indexed")
    assert job["ttlSecondsAfterFinished"] == 600
    assert job["podFailurePolicy"] == {"rules": [{"action": "FailJob"}]}
    assert job["backoffLimit"] == 0


def test_a_job_template_sets_pull_policy_and_secrets_merged_with_the_overlays() -> None:
    template = JobTemplateSpec(
        image="registry.example/team/report:1.4",
        image_pull_policy="Always",
        image_pull_secrets=[NameReference(name="team-registry")],
    )
    pod = _pod(template, imagePullSecrets=[{"name": "extra"}, {"name": "team-registry"}])
    assert _run(pod)["imagePullPolicy"] == "Always"
    assert pod["imagePullSecrets"] == [{"name": "team-registry"}, {"name": "extra"}]


def test_built_in_templates_carry_the_operators_pull_secrets() -> None:
    template = builtin_template("http", "registry.example/almanac:1", pull_secrets=("reg",))
    assert _pod(template)["imagePullSecrets"] == [{"name": "reg"}]


REFUSED: dict[str, tuple[dict[str, Any], str]] = {
    "host-path": (
        {"volumes": [{"name": "root", "hostPath": {"path": "/"}}]},
        "hostPath volumes are refused",
    ),
    "reserved-volume-name": (
        {"volumes": [{"name": "almanac-tmp", "emptyDir": {}}]},
        "'almanac-tmp' is reserved",
    ),
    "two-sources": (
        {"volumes": [{"name": "x", "emptyDir": {}, "configMap": {"name": "c"}}]},
        "needs exactly one source",
    ),
    "mount-of-undeclared-volume": (
        {"volumeMounts": [{"name": "nope", "mountPath": "/x"}]},
        "mounts volume 'nope', which volumes does not declare",
    ),
    "init-container-named-run": (
        {"initContainers": [{"name": "run", "image": "busybox"}]},
        "'run' is the run container's name",
    ),
    "sidecar-restart-policy-other-than-always": (
        {"initContainers": [{"name": "s", "image": "busybox", "restartPolicy": "OnFailure"}]},
        "restartPolicy",
    ),
    "backoff-limit-is-almanacs": ({"job": {"backoffLimit": 3}}, "backoffLimit"),
}


@pytest.mark.parametrize(("overlay", "message"), REFUSED.values(), ids=REFUSED)
def test_an_overlay_almanac_cannot_honour_is_refused_naming_why(
    overlay: dict[str, Any], message: str
) -> None:
    with pytest.raises(InvalidSpecError) as caught:
        _job(**overlay)
    assert message in str(caught.value)
