"""AdmissionReview bodies for the webhook tests: a review of a spec, and its checked answer."""

from __future__ import annotations

from typing import Any

from almanac.operator.webhook import review

UID = "705ab4f5-6393-11e8-b7cc-42010a800002"
OPERATOR = "system:serviceaccount:almanac:almanac-operator"
FACADE = "system:serviceaccount:almanac:almanac-facade"


def admission_review(
    spec: Any,
    *,
    kind: str = "ScheduledJob",
    operation: str = "CREATE",
    old_spec: Any = None,
    sub_resource: str | None = None,
) -> dict[str, Any]:
    request: dict[str, Any] = {
        "uid": UID,
        "kind": {"group": "almanac.dev", "version": "v1alpha1", "kind": kind},
        "resource": {"group": "almanac.dev", "version": "v1alpha1", "resource": "x"},
        "name": "nightly",
        "namespace": "team-a",
        "operation": operation,
        "object": {"apiVersion": "almanac.dev/v1alpha1", "kind": kind, "spec": spec},
    }
    if old_spec is not None:
        request["oldObject"] = {"spec": old_spec}
    if sub_resource is not None:
        request["subResource"] = sub_resource
    return {"apiVersion": "admission.k8s.io/v1", "kind": "AdmissionReview", "request": request}


def job(**schedule: Any) -> dict[str, Any]:
    return {"template": "http", "schedule": schedule}


def response(body: dict[str, Any]) -> dict[str, Any]:
    answer = review(body)
    assert answer["apiVersion"] == "admission.k8s.io/v1"
    assert answer["kind"] == "AdmissionReview"
    result: dict[str, Any] = answer["response"]
    assert result["uid"] == UID
    return result
