"""Admission's confused-deputy guard with a fake access check: which powers are asked
about, and the 403 that names each missing one (fail closed when no answer comes)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from almanac.core.powers import Power
from almanac.operator.deputy import denied_powers, forbidden_causes
from almanac.operator.webhook import review

SECRET = {"secretKeyRef": {"name": "db", "key": "token"}}


def _request(spec: dict[str, Any], old: dict[str, Any] | None = None) -> dict[str, Any]:
    base = {"template": "http", "schedule": {"cron": "0 3 * * *"}}
    request: dict[str, Any] = {
        "uid": "u-1",
        "kind": {"group": "almanac.dev", "version": "v1alpha1", "kind": "ScheduledJob"},
        "namespace": "org-a",
        "name": "nightly",
        "operation": "UPDATE" if old is not None else "CREATE",
        "userInfo": {"username": "alice", "groups": ["tenants"]},
        "object": {"metadata": {"name": "nightly"}, "spec": base | spec},
    }
    if old is not None:
        request["oldObject"] = {"metadata": {"name": "nightly"}, "spec": base | old}
    return request


class Access:
    """Allows what ``allowed`` lists; records every question."""

    def __init__(self, *allowed: tuple[str, str, str | None], fail: bool = False) -> None:
        self.allowed = set(allowed)
        self.fail = fail
        self.asked: list[tuple[str, str, str, str | None]] = []

    async def __call__(self, user: Mapping[str, Any], namespace: str, power: Power) -> bool:
        self.asked.append((str(user["username"]), power.verb, power.resource, power.name))
        if self.fail:
            raise ConnectionError("API server unreachable")
        return (power.verb, power.resource, power.name) in self.allowed


async def test_a_secret_the_writer_cannot_read_is_denied_and_asked_as_the_writer() -> None:
    access = Access()
    denied = await denied_powers(_request({"params": {"h": SECRET}}), access)
    assert [(p.name, p.field) for p in denied] == [("db", "spec.params.h")]
    assert access.asked == [("alice", "get", "secrets", "db")]


async def test_a_secret_the_writer_may_read_is_allowed() -> None:
    access = Access(("get", "secrets", "db"))
    assert await denied_powers(_request({"params": {"h": SECRET}}), access) == []


async def test_an_update_keeping_the_same_secret_asks_nothing() -> None:
    access = Access()
    request = _request({"params": {"h": SECRET}}, old={"params": {"h": SECRET}})
    assert await denied_powers(request, access) == []
    assert access.asked == []


async def test_no_answer_is_a_refusal_that_says_to_retry() -> None:
    request = _request({"params": {"h": SECRET}})
    denied = await denied_powers(request, Access(fail=True))
    [(field, message)] = forbidden_causes(request, denied)
    assert field == "spec.params.h"
    assert "(the API server did not answer); retry" in message


async def test_an_invalid_spec_is_left_to_validation() -> None:
    assert await denied_powers(_request({"schedule": {"cron": "61 * * * *"}}), Access()) == []


def test_the_review_refuses_with_403_naming_the_permission_and_field() -> None:
    request = _request({"params": {"h": SECRET}})
    denied = [Power("get", "secrets", "db", "spec.params.h")]
    answer = review(
        {"apiVersion": "admission.k8s.io/v1", "kind": "AdmissionReview", "request": request},
        denied=denied,
    )
    response = answer["response"]
    assert response["allowed"] is False
    assert response["status"]["code"] == 403
    [cause] = response["status"]["details"]["causes"]
    assert cause["field"] == "spec.params.h"
    assert "get secrets 'db' in namespace 'org-a', which alice may not do" in cause["message"]


def test_validation_problems_come_before_permissions() -> None:
    request = _request({"schedule": {"cron": "61 * * * *"}})
    denied = [Power("get", "secrets", "db", "spec.params.h")]
    answer = review(
        {"apiVersion": "admission.k8s.io/v1", "kind": "AdmissionReview", "request": request},
        denied=denied,
    )
    assert answer["response"]["status"]["code"] == 422


VOLUMES: dict[str, list[dict[str, Any]]] = {
    "volumes": [
        {"name": "data", "persistentVolumeClaim": {"claimName": "reports"}},
        {"name": "cfg", "configMap": {"name": "settings"}},
    ],
    "imagePullSecrets": [{"name": "regcred"}],
}


async def test_volumes_and_pull_secrets_are_asked_as_the_writer_and_refused_by_field() -> None:
    access = Access(("get", "configmaps", "settings"))
    request = _request({"podTemplate": VOLUMES})
    denied = await denied_powers(request, access)
    assert sorted(access.asked) == [
        ("alice", "get", "configmaps", "settings"),
        ("alice", "get", "persistentvolumeclaims", "reports"),
        ("alice", "get", "secrets", "regcred"),
    ]
    causes = dict(forbidden_causes(request, denied))
    assert sorted(causes) == [
        "spec.podTemplate.imagePullSecrets[0]",
        "spec.podTemplate.volumes[0].persistentVolumeClaim",
    ]
    assert "get persistentvolumeclaims 'reports' in namespace 'org-a'" in str(causes)
    assert "remove spec.podTemplate.volumes[0].persistentVolumeClaim" in str(causes)


async def test_a_sidecar_needs_the_writer_to_be_able_to_create_pods() -> None:
    sidecar = {"name": "proxy", "image": "busybox", "restartPolicy": "Always"}
    request = _request({"podTemplate": {"initContainers": [sidecar]}})
    access = Access()
    denied = await denied_powers(request, access)
    assert access.asked == [("alice", "create", "pods", None)]
    assert [p.field for p in denied] == ["spec.podTemplate.initContainers"]


async def test_adding_a_volume_to_a_job_asks_only_about_that_volume() -> None:
    old = {"podTemplate": {"volumes": VOLUMES["volumes"][:1]}}
    access = Access()
    await denied_powers(_request({"podTemplate": {"volumes": VOLUMES["volumes"]}}, old=old), access)
    assert access.asked == [("alice", "get", "configmaps", "settings")]


def test_a_host_path_volume_is_refused_before_any_permission_naming_the_volume() -> None:
    request = _request({"podTemplate": {"volumes": [{"name": "h", "hostPath": {"path": "/"}}]}})
    answer = review(
        {"apiVersion": "admission.k8s.io/v1", "kind": "AdmissionReview", "request": request},
        denied=[],
    )
    response = answer["response"]
    assert response["allowed"] is False
    [cause] = response["status"]["details"]["causes"]
    assert cause["field"] == "spec.podTemplate.volumes[0]"
    assert "hostPath volumes are refused" in cause["message"]
