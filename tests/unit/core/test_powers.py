"""What a ScheduledJob makes the operator do for its writer: one named case per source."""

from __future__ import annotations

from typing import Any

import pytest

from almanac.core.powers import Power, added_powers, powers_of
from almanac.core.resource import parse_spec

SECRET = {"secretKeyRef": {"name": "db", "key": "token"}}


def _spec(**fields: Any) -> Any:
    return parse_spec({"template": "http", "schedule": {"cron": "0 3 * * *"}, **fields})


CASES: dict[str, tuple[dict[str, Any], list[tuple[str, str, str | None, str]]]] = {
    "nothing": ({"params": {"url": "https://x.test"}}, []),
    "secret-in-params": (
        {"params": {"headers": {"Authorization": SECRET}}},
        [("get", "secrets", "db", "spec.params.headers.Authorization")],
    ),
    "secret-env-in-pod-template": (
        {
            "podTemplate": {
                "env": [{"name": "T", "valueFrom": {"secretKeyRef": {"name": "db", "key": "t"}}}]
            }
        },
        [("get", "secrets", "db", "spec.podTemplate.env[0].valueFrom.secretKeyRef")],
    ),
    "secret-env-from": (
        {"podTemplate": {"envFrom": [{"secretRef": {"name": "all"}}]}},
        [("get", "secrets", "all", "spec.podTemplate.envFrom[0].secretRef")],
    ),
    "service-account": (
        {"podTemplate": {"serviceAccountName": "deployer"}},
        [("create", "pods", None, "spec.podTemplate.serviceAccountName")],
    ),
    "tolerations-and-node-selector": (
        {"podTemplate": {"tolerations": [{"operator": "Exists"}], "nodeSelector": {"a": "b"}}},
        [
            ("create", "pods", None, "spec.podTemplate.nodeSelector"),
            ("create", "pods", None, "spec.podTemplate.tolerations"),
        ],
    ),
    "secret-volume": (
        {"podTemplate": {"volumes": [{"name": "v", "secret": {"secretName": "tls"}}]}},
        [("get", "secrets", "tls", "spec.podTemplate.volumes[0].secret")],
    ),
    "configmap-volume": (
        {"podTemplate": {"volumes": [{"name": "v", "configMap": {"name": "settings"}}]}},
        [("get", "configmaps", "settings", "spec.podTemplate.volumes[0].configMap")],
    ),
    "pvc-volume": (
        {"podTemplate": {"volumes": [{"name": "v", "persistentVolumeClaim": {"claimName": "d"}}]}},
        [
            (
                "get",
                "persistentvolumeclaims",
                "d",
                "spec.podTemplate.volumes[0].persistentVolumeClaim",
            )
        ],
    ),
    "projected-volume": (
        {
            "podTemplate": {
                "volumes": [
                    {
                        "name": "v",
                        "projected": {
                            "sources": [
                                {"secret": {"name": "a"}},
                                {"configMap": {"name": "b"}},
                                {"serviceAccountToken": {"path": "t"}},
                            ]
                        },
                    }
                ]
            }
        },
        [
            (
                "create",
                "pods",
                None,
                "spec.podTemplate.volumes[0].projected.sources[2].serviceAccountToken",
            ),
            (
                "get",
                "configmaps",
                "b",
                "spec.podTemplate.volumes[0].projected.sources[1].configMap",
            ),
            ("get", "secrets", "a", "spec.podTemplate.volumes[0].projected.sources[0].secret"),
        ],
    ),
    "scratch-volume-is-no-power": (
        {"podTemplate": {"volumes": [{"name": "v", "emptyDir": {}}]}},
        [],
    ),
    "image-pull-secret": (
        {"podTemplate": {"imagePullSecrets": [{"name": "regcred"}]}},
        [("get", "secrets", "regcred", "spec.podTemplate.imagePullSecrets[0]")],
    ),
    "init-container-and-its-secret-env": (
        {
            "podTemplate": {
                "initContainers": [
                    {
                        "name": "fetch",
                        "image": "busybox",
                        "envFrom": [{"secretRef": {"name": "creds"}}],
                    }
                ]
            }
        },
        [
            ("create", "pods", None, "spec.podTemplate.initContainers"),
            ("get", "secrets", "creds", "spec.podTemplate.initContainers[0].envFrom[0].secretRef"),
        ],
    ),
    "pod-as-if-created-by-hand": (
        {
            "podTemplate": {
                "affinity": {"nodeAffinity": {}},
                "topologySpreadConstraints": [{"maxSkew": 1}],
                "priorityClassName": "high",
                "runtimeClassName": "gvisor",
                "securityContext": {"runAsUser": 0},
                "containerSecurityContext": {"privileged": True},
                "hostAliases": [{"ip": "10.0.0.1", "hostnames": ["api.example.com"]}],
                "dnsConfig": {"nameservers": ["10.0.0.53"]},
            }
        },
        [
            ("create", "pods", None, f"spec.podTemplate.{field}")
            for field in sorted(
                [
                    "affinity",
                    "topologySpreadConstraints",
                    "priorityClassName",
                    "runtimeClassName",
                    "securityContext",
                    "containerSecurityContext",
                    "hostAliases",
                    "dnsConfig",
                ]
            )
        ],
    ),
    "job-fields-and-mounts-are-no-power": (
        {"podTemplate": {"job": {"parallelism": 2}, "workingDir": "/tmp"}},
        [],
    ),
    "configmap-env-is-no-power": (
        {"podTemplate": {"envFrom": [{"configMapRef": {"name": "settings"}}]}},
        [],
    ),
}


@pytest.mark.parametrize(("fields", "expected"), CASES.values(), ids=CASES.keys())
def test_powers_of_a_spec(
    fields: dict[str, Any], expected: list[tuple[str, str, str | None, str]]
) -> None:
    found = [(p.verb, p.resource, p.name, p.field) for p in powers_of(_spec(**fields))]
    assert found == expected


def test_only_powers_the_change_adds_are_checked() -> None:
    old = _spec(params={"headers": {"Authorization": SECRET}})
    same_secret_new_schedule = parse_spec(
        {"template": "http", "schedule": {"cron": "30 4 * * *"}, "params": {"h": SECRET}}
    )
    assert added_powers(same_secret_new_schedule, old) == []
    other = _spec(params={"h": {"secretKeyRef": {"name": "other", "key": "k"}}})
    assert [p.name for p in added_powers(other, old)] == ["other"]


def test_a_new_job_has_all_its_powers_added_each_permission_once() -> None:
    spec = _spec(params={"a": SECRET, "b": SECRET}, podTemplate={"serviceAccountName": "x"})
    assert [(p.verb, p.resource, p.name) for p in added_powers(spec, None)] == [
        ("create", "pods", None),
        ("get", "secrets", "db"),
    ]


def test_a_power_describes_itself_for_the_refusal() -> None:
    assert (
        Power("get", "secrets", "db", "f").describe("org-a")
        == "get secrets 'db' in namespace 'org-a'"
    )
    assert (
        Power("create", "pods", None, "f").describe("org-a") == "create pods in namespace 'org-a'"
    )
