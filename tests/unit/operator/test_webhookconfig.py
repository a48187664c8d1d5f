"""The ValidatingWebhookConfiguration: where each hook points, its rules and who skips it."""

from __future__ import annotations

from typing import Any

import pytest

from almanac.operator.webhook import RUNREQUESTS_PATH, SCHEDULEDJOBS_PATH, TEMPLATES_PATH
from almanac.operator.webhookconfig import ServiceReference, webhook_configuration
from tests.unit.operator.reviews import FACADE, OPERATOR


def test_webhook_configuration_with_a_url_scoped_to_a_namespace() -> None:
    selector = {"matchLabels": {"kubernetes.io/metadata.name": "t-1"}}
    body = webhook_configuration(
        "Q0E=",
        name="almanac-test",
        url="https://127.0.0.1:9443/",
        namespace_selector=selector,
        resources=["scheduledjobs", "jobtemplates"],
    )
    assert body["metadata"]["name"] == "almanac-test"
    first, second = body["webhooks"]
    assert first["name"] == "scheduledjobs.validate.almanac.dev"
    assert first["clientConfig"] == {
        "url": f"https://127.0.0.1:9443{SCHEDULEDJOBS_PATH}",
        "caBundle": "Q0E=",
    }
    assert second["clientConfig"]["url"] == f"https://127.0.0.1:9443{TEMPLATES_PATH}"
    assert first["rules"] == [
        {
            "apiGroups": ["almanac.dev"],
            "apiVersions": ["v1alpha1"],
            "operations": ["CREATE", "UPDATE"],
            "resources": ["scheduledjobs"],
            "scope": "Namespaced",
        }
    ]
    assert first["sideEffects"] == "None"
    assert first["admissionReviewVersions"] == ["v1"]
    assert first["failurePolicy"] == "Fail"
    assert first["timeoutSeconds"] == 5
    assert first["namespaceSelector"] == selector


def test_webhook_configuration_with_a_service_covers_all_four_resources() -> None:
    body = webhook_configuration(
        "Q0E=",
        service=ServiceReference("almanac", "almanac-webhook"),
        failure_policy="Ignore",
        run_request_writers=[OPERATOR],
    )
    hooks = body["webhooks"]
    assert [h["rules"][0]["resources"] for h in hooks] == [
        ["scheduledjobs"],
        ["jobtemplates"],
        ["clusterjobtemplates"],
        ["runrequests"],
    ]
    assert hooks[3]["clientConfig"]["service"]["path"] == RUNREQUESTS_PATH
    hooks = hooks[:3]
    assert hooks[2]["rules"][0]["scope"] == "Cluster"
    assert hooks[0]["clientConfig"]["service"] == {
        "namespace": "almanac",
        "name": "almanac-webhook",
        "port": 443,
        "path": SCHEDULEDJOBS_PATH,
    }
    assert all(h["failurePolicy"] == "Ignore" for h in hooks)
    assert all("namespaceSelector" not in h for h in hooks)
    assert all("matchConditions" not in h for h in hooks)


def test_trusted_users_skip_only_the_scheduledjob_hook() -> None:
    body = webhook_configuration(
        "Q0E=",
        service=ServiceReference("almanac", "almanac-webhook"),
        trusted_users=["system:serviceaccount:almanac:almanac-api", 'odd"name'],
        resources=["scheduledjobs", "jobtemplates", "clusterjobtemplates"],
    )
    scheduled_jobs, *templates = body["webhooks"]
    assert scheduled_jobs["matchConditions"] == [
        {
            "name": "not-a-trusted-writer",
            "expression": "!(request.userInfo.username in "
            '["system:serviceaccount:almanac:almanac-api", "odd\\"name"])',
        }
    ]
    assert all("matchConditions" not in h for h in templates)


@pytest.mark.parametrize("users", [[""], ["bad\nname"]])
def test_trusted_users_must_be_printable_names(users: list[str]) -> None:
    with pytest.raises(ValueError, match="non-empty printable usernames"):
        webhook_configuration(
            "Q0E=", url="https://a", trusted_users=users, run_request_writers=[OPERATOR]
        )
    with pytest.raises(ValueError, match="non-empty printable usernames"):
        webhook_configuration("Q0E=", url="https://a", run_request_writers=users)


def test_only_almanacs_writers_skip_the_runrequest_hook() -> None:
    body = webhook_configuration(
        "Q0E=", url="https://a", resources=["runrequests"], run_request_writers=[OPERATOR, FACADE]
    )
    (hook,) = body["webhooks"]
    assert hook["matchConditions"] == [
        {
            "name": "not-a-trusted-writer",
            "expression": f'!(request.userInfo.username in ["{OPERATOR}", "{FACADE}"])',
        }
    ]


def test_the_runrequest_hook_needs_its_writers() -> None:
    with pytest.raises(ValueError, match="run_request_writers"):
        webhook_configuration("Q0E=", url="https://a", resources=["runrequests"])


@pytest.mark.parametrize(
    "where",
    [pytest.param({}, id="neither"), pytest.param({"url": "https://a", "service": None})],
)
def test_webhook_configuration_needs_exactly_one_of_url_and_service(where: Any) -> None:
    both = dict(where)
    if "service" in both:
        both["service"] = ServiceReference("ns", "svc")
    with pytest.raises(ValueError, match="exactly one of url and service"):
        webhook_configuration("Q0E=", **both)
