"""Tenancy through the real facade, each attack beside its control: a member changes only
the jobs they created (an admin any job of the organisation); an export cannot name
another organisation; a message job cannot publish onto Almanac's own topics or headers;
and the edge a gateway relies on: two identity headers, the request id, the access log,
the gateway secret."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest

from almanac.api import BASE_PATH, encode_identity
from tests.integration.api.conftest import FacadeProcess, Org
from tests.support import eventually

SECRET = "gateway-secret-for-tests-0123456789"


@contextmanager
def _caller(org: Org, username: str, *, admin: bool = False) -> Iterator[Org]:
    other = org.as_user(username, admin=admin)
    try:
        yield other
    finally:
        other.http.close()


def _forbidden(reply: httpx.Response) -> str:
    assert reply.status_code == 403, reply.text
    [error] = reply.json()["errors"]
    assert error["field"] is None
    assert error["code"] == "forbidden"
    return str(error["message"])


def test_a_member_cannot_delete_pause_run_or_edit_another_members_job(org: Org) -> None:
    job = org.create(name="Ann's nightly")  # created by org's default user, jdoe
    path = f"/jobs/{job['id']}"
    with _caller(org, "mallory") as mallory:
        assert "created by 'jdoe'" in _forbidden(mallory.request("DELETE", path))
        _forbidden(mallory.request("POST", f"{path}/pause", json={"reason": "mine now"}))
        _forbidden(mallory.request("POST", f"{path}/run"))
        _forbidden(mallory.request("PATCH", path, json={"schedule": "* * * * *"}))
        _forbidden(mallory.request("POST", f"{path}/cancel"))
        _forbidden(mallory.request("PATCH", path, json={"retry_policy": {"max_retries": 9}}))
        # Reading the organisation's jobs is allowed.
        assert mallory.request("GET", path).status_code == 200
    after = org.request("GET", path).json()
    assert (after["status"], after["schedule"]) == ("scheduled", "0 0 * * *")
    assert org.kubectl.get("scheduledjob", job["resource_name"])["metadata"]["uid"] == job["id"]


def test_another_organisation_cannot_cancel_or_find_a_job_by_its_tags(make_org: Any) -> None:
    victim, attacker = make_org(), make_org("mallory")
    job = victim.create(name="Payroll", tags=["payroll"])
    path = f"/jobs/{job['id']}"
    assert attacker.request("POST", f"{path}/cancel").status_code == 404
    assert attacker.request("PATCH", path, json={"tags": ["mine"]}).status_code == 404
    attacker.create(name="Own")  # the attacker's namespace exists: the list is really read
    assert attacker.request("GET", "/jobs", params={"tags": "payroll"}).json()["data"] == []
    after = victim.request("GET", path).json()
    assert (after["status"], after["tags"]) == ("scheduled", ["payroll"])
    # Control: the victim finds it by its tag and may cancel it.
    found = victim.request("GET", "/jobs", params={"tags": "payroll"}).json()["data"]
    assert [j["id"] for j in found] == [job["id"]]
    assert victim.request("POST", f"{path}/cancel").json()["status"] == "cancelled"


def test_the_creator_and_an_admin_may_change_the_job(org: Org) -> None:
    job = org.create(name="Nightly")
    path = f"/jobs/{job['id']}"
    assert org.request("POST", f"{path}/pause").status_code == 200  # the creator
    with _caller(org, "carol", admin=True) as admin:
        assert admin.request("POST", f"{path}/resume").status_code == 200
        assert admin.request("DELETE", path).status_code == 204
    assert org.request("GET", path).status_code == 404


def test_a_kubectl_made_job_is_changed_through_rest_by_admins_only(org: Org) -> None:
    job = org.create(name="Made by kubectl")
    # As if written with kubectl: no creator annotation.
    org.kubectl.run("annotate", "scheduledjob", job["resource_name"], "almanac.dev/created-by-")
    path = f"/jobs/{job['id']}"
    assert "not created through this API" in _forbidden(org.request("POST", f"{path}/pause"))
    with _caller(org, "carol", admin=True) as admin:
        assert admin.request("POST", f"{path}/pause").status_code == 200


def test_two_identity_headers_are_refused_even_when_the_first_is_the_victims(
    facade: FacadeProcess, make_org: Any
) -> None:
    victim, attacker = make_org(), make_org()
    victim.create(name="Victim's job")
    headers = [
        ("x-rh-identity", encode_identity(victim.org_id)),
        ("x-rh-identity", encode_identity(attacker.org_id)),
    ]
    reply = httpx.get(f"{facade.url}{BASE_PATH}/jobs", headers=headers, timeout=30)
    assert reply.status_code == 400
    assert reply.json()["errors"][0]["field"] == "x-rh-identity"
    assert len(victim.request("GET", "/jobs").json()["data"]) == 1  # control


async def test_the_request_id_comes_back_and_the_access_log_names_org_user_and_route(
    facade: FacadeProcess, org: Org
) -> None:
    reply = org.request("GET", "/jobs", headers={"x-insights-request-id": "trace-me-1"})
    assert reply.status_code == 200
    assert reply.headers["x-insights-request-id"] == "trace-me-1"

    def logged() -> dict[str, Any]:
        for line in Path(facade.log).read_text().splitlines():
            entry = json.loads(line) if line.startswith("{") else {}
            if entry.get("request_id") == "trace-me-1":
                return dict(entry)
        raise AssertionError("no access-log line for the request yet")

    entry = await eventually(logged, timeout=10, what="the request's access-log line")
    assert {k: entry[k] for k in ("msg", "org_id", "user", "route", "status")} == {
        "msg": "request",
        "org_id": org.org_id,
        "user": "jdoe",
        "route": "/jobs",
        "status": 200,
    }


@pytest.fixture(scope="module")
def gated_facade(crds: Any, tmp_path_factory: pytest.TempPathFactory) -> Iterator[FacadeProcess]:
    process = FacadeProcess(
        tmp_path_factory.mktemp("gated") / "facade.log",
        env={"ALMANAC_API_GATEWAY_SECRET": SECRET},
    )
    process.start()
    try:
        yield process
    finally:
        process.stop()


def test_with_a_gateway_secret_only_requests_carrying_it_are_believed(
    gated_facade: FacadeProcess,
) -> None:
    url = f"{gated_facade.url}{BASE_PATH}/templates"
    identity = {"x-rh-identity": encode_identity("gated-org")}
    refused = httpx.get(url, headers=identity, timeout=30)
    assert refused.status_code == 401
    assert refused.json()["errors"][0]["field"] == "x-almanac-gateway-secret"
    accepted = httpx.get(url, headers=identity | {"x-almanac-gateway-secret": SECRET}, timeout=30)
    assert accepted.status_code == 200, accepted.text


def test_an_export_naming_another_organisation_is_refused(make_org: Any) -> None:
    mallory, victim = make_org(), make_org()
    export: dict[str, Any] = {
        "name": "Their hosts",
        "schedule": "0 0 * * *",
        "type": "export",
        "payload": {
            "name": "hosts",
            "format": "csv",
            "sources": [{"application": "inventory", "resource": "hosts"}],
        },
    }
    stolen = export | {"payload": export["payload"] | {"orgId": victim.org_id}}
    refused = mallory.request("POST", "/jobs", json=stolen)
    assert refused.status_code == 400, refused.text
    assert refused.json()["errors"][0]["field"] == "payload.orgId"
    assert mallory.kubectl.list("scheduledjobs") == []  # nothing half-done

    own = mallory.create(**export)  # control: the same export for its own organisation
    assert own["payload"]["orgId"] == mallory.org_id
    assert own["payload"]["username"] == "jdoe"  # the export's identity is the caller's
    sneaky = mallory.request("PATCH", f"/jobs/{own['id']}", json={"payload": stolen["payload"]})
    assert sneaky.status_code == 400
    assert sneaky.json()["errors"][0]["field"] == "payload.orgId"


def test_a_message_job_aimed_at_another_orgs_triggers_is_refused(make_org: Any) -> None:
    mallory, victim = make_org(), make_org()
    forged = {
        "name": "Forge",
        "schedule": "0 0 * * *",
        "type": "message",
        "payload": {
            "topic": "almanac.triggers",
            "value": {"id": "evt-1", "type": "ticket.opened"},
            "headers": {"almanac-namespace": victim.namespace},
        },
    }
    refused = mallory.request("POST", "/jobs", json=forged)
    assert refused.status_code == 400, refused.text
    fields = {e["field"] for e in refused.json()["errors"]}
    assert fields == {"payload.topic", "payload.headers.almanac-namespace"}
    own = forged | {"payload": {"topic": "mallory.reports", "value": "hello"}}
    assert mallory.request("POST", "/jobs", json=own).status_code == 201  # control


def test_a_template_fenced_to_another_organisation_is_neither_listed_nor_usable(
    make_org: Any, kubectl: Any
) -> None:
    """A ClusterJobTemplate whose allowedNamespaces name only the victim's namespace: the
    facade's catalog (the check the operator's launches and the webhook make too) hides it
    from another organisation and refuses its use naming ``type``; the victim uses it."""
    mallory, victim = make_org(), make_org()
    name = f"t-vip-{uuid.uuid4().hex[:8]}"
    kubectl.apply(
        {
            "apiVersion": "almanac.dev/v1alpha1",
            "kind": "ClusterJobTemplate",
            "metadata": {"name": name},
            "spec": {"image": "localhost/almanac:dev", "allowedNamespaces": [victim.namespace]},
        }
    )
    try:
        victim.create(name="Ours")  # the victim's namespace exists from here on
        mallory.create(name="Mine")
        job = {"name": "Theirs", "schedule": "0 0 * * *", "type": name, "payload": {}}
        refused = mallory.request("POST", "/jobs", json=job)
        assert refused.status_code == 400, refused.text
        [error] = refused.json()["errors"]
        assert error["field"] == "type"
        assert f"may not be used in namespace {mallory.namespace!r}" in error["message"]
        listed = [t["name"] for t in mallory.request("GET", "/templates").json()["data"]]
        assert name not in listed
        assert mallory.request("GET", f"/templates/{name}").status_code == 404
        assert victim.request("POST", "/jobs", json=job).status_code == 201  # the control
        assert name in [t["name"] for t in victim.request("GET", "/templates").json()["data"]]
    finally:
        kubectl.run("delete", "clusterjobtemplate", name, "--ignore-not-found")


def test_a_job_on_a_topic_outside_the_namespaces_allow_list_is_refused(org: Org) -> None:
    org.create(name="first")  # the organisation's namespace exists from here on
    org.kubectl.run(
        "annotate", "namespace", org.namespace, "almanac.dev/kafka-topics=reports.*, tickets"
    )
    job = {"name": "Leak", "schedule": "0 0 * * *", "type": "message"}
    leak = job | {"payload": {"topic": "payroll", "value": "hello"}}
    refused = org.request("POST", "/jobs", json=leak)
    assert refused.status_code == 400, refused.text
    [error] = refused.json()["errors"]
    assert error["field"] == "payload.topic"
    assert "allows: reports.*, tickets" in error["message"]
    own = job | {"payload": {"topic": "reports.daily", "value": "hello"}}
    created = org.create(**own)  # the control: a topic of the list
    sneaky = org.request("PATCH", f"/jobs/{created['id']}", json=leak)
    assert sneaky.status_code == 400
    assert sneaky.json()["errors"][0]["field"] == "payload.topic"


@pytest.fixture(scope="module")
def limited_facade(crds: Any, tmp_path_factory: pytest.TempPathFactory) -> Iterator[FacadeProcess]:
    process = FacadeProcess(
        tmp_path_factory.mktemp("limited") / "facade.log",
        env={"ALMANAC_API_MAX_JOBS_PER_ORG": "2", "ALMANAC_API_MANUAL_RUNS_PER_HOUR": "2"},
    )
    process.start()
    try:
        yield process
    finally:
        process.stop()


@pytest.fixture
def limited_org(limited_facade: FacadeProcess, kubectl: Any) -> Iterator[Org]:
    org_id = f"lim{uuid.uuid4().hex[:8]}"
    http = httpx.Client(
        base_url=limited_facade.url,
        headers={"x-rh-identity": encode_identity(org_id, username="noisy")},
        timeout=30,
    )
    org = Org(org_id, http, kubectl.in_namespace(f"org-{org_id}"))
    try:
        yield org
    finally:
        http.close()
        kubectl.run("delete", "namespace", org.namespace, "--wait=false", "--ignore-not-found")


def test_a_noisy_member_meets_the_org_and_hourly_limits_others_do_not(limited_org: Org) -> None:
    first, _ = limited_org.create(name="one"), limited_org.create(name="two")
    third = limited_org.request(
        "POST",
        "/jobs",
        json={
            "name": "three",
            "schedule": "0 0 * * *",
            "type": "command",
            "payload": {"command": ["true"]},
        },
    )
    assert third.status_code == 429, third.text
    assert third.json()["errors"][0]["code"] == "limit_exceeded"
    assert len(limited_org.kubectl.list("scheduledjobs")) == 2  # nothing half-done

    run = f"/jobs/{first['id']}/run"
    assert [limited_org.request("POST", run).status_code for _ in range(2)] == [202, 202]
    refused = limited_org.request("POST", run)
    assert refused.status_code == 429
    assert "the most allowed (2)" in refused.json()["errors"][0]["message"]
    with _caller(limited_org, "carol", admin=True) as other:  # control: another user
        assert other.request("POST", run).status_code == 202


NAMESPACE_DEFAULTS = [
    {
        "apiVersion": "v1",
        "kind": "ResourceQuota",
        "metadata": {"name": "org-quota"},
        "spec": {"hard": {"pods": "20", "count/jobs.batch": "100"}},
    },
    {
        "apiVersion": "v1",
        "kind": "LimitRange",
        "metadata": {"name": "run-defaults"},
        "spec": {"limits": [{"type": "Container", "default": {"memory": "256Mi"}}]},
    },
    {
        "apiVersion": "networking.k8s.io/v1",
        "kind": "NetworkPolicy",
        "metadata": {"name": "deny-ingress"},
        "spec": {"podSelector": {}, "policyTypes": ["Ingress"]},
    },
]


def test_a_new_org_namespace_gets_its_quota_limits_and_no_ingress(
    crds: Any, kubectl: Any, tmp_path: Path
) -> None:
    defaults = tmp_path / "namespace-defaults.json"
    defaults.write_text(json.dumps(NAMESPACE_DEFAULTS))  # YAML is a superset of JSON
    process = FacadeProcess(
        tmp_path / "facade.log", env={"ALMANAC_API_NAMESPACE_DEFAULTS": str(defaults)}
    )
    process.start()
    org_id = f"quota{uuid.uuid4().hex[:8]}"
    http = httpx.Client(
        base_url=process.url, headers={"x-rh-identity": encode_identity(org_id)}, timeout=30
    )
    org = Org(org_id, http, kubectl.in_namespace(f"org-{org_id}"))
    try:
        org.create(name="first")
        quota = org.kubectl.get("resourcequota", "org-quota")
        assert quota["spec"]["hard"] == {"pods": "20", "count/jobs.batch": "100"}
        assert org.kubectl.get("limitrange", "run-defaults")["spec"]["limits"][0]["type"] == (
            "Container"
        )
        policy = org.kubectl.get("networkpolicy", "deny-ingress")
        assert policy["spec"] == {"podSelector": {}, "policyTypes": ["Ingress"]}
    finally:
        http.close()
        process.stop()
        kubectl.run("delete", "namespace", org.namespace, "--wait=false", "--ignore-not-found")


def test_another_orgs_idempotency_key_never_answers_the_victims_job(make_org: Any) -> None:
    """Mallory replays the victim's create, key and body alike (a leaked key, a guessed
    one): she gets a job of her own in her namespace, never the victim's id, and the
    victim's job is untouched; the victim's own replay still answers her job (control)."""
    victim, mallory = make_org(), make_org()
    body: dict[str, Any] = {"name": "Shared", "schedule": "0 0 1 1 *", "type": "command"}
    body["payload"] = {"command": ["true"]}
    key = {"Idempotency-Key": "leaked-key"}
    made = victim.request("POST", "/jobs", json=body, headers=key)
    assert made.status_code == 201, made.text
    stolen = mallory.request("POST", "/jobs", json=body, headers=key)
    assert stolen.status_code == 201, stolen.text
    assert stolen.json()["id"] != made.json()["id"]
    assert [j["metadata"]["uid"] for j in mallory.kubectl.list("scheduledjobs")] == [
        stolen.json()["id"]
    ]
    assert [j["metadata"]["uid"] for j in victim.kubectl.list("scheduledjobs")] == [
        made.json()["id"]
    ]
    again = victim.request("POST", "/jobs", json=body, headers=key)
    assert (again.status_code, again.json()["id"]) == (201, made.json()["id"])
