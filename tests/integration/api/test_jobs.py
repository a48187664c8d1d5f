"""The facade on the real stack: the seed's job API over ScheduledJobs, kubectl and REST
seeing the same objects, and the seed's error table."""

from __future__ import annotations

import base64
import json
import os
from typing import Any

import psycopg

from almanac.api import BASE_PATH
from tests.integration.api.conftest import EXPORT_SERVICE_URL, FacadeProcess, Org
from tests.support import eventually

SEED_EXPORT: dict[str, Any] = {
    "name": "Daily Inventory Export",
    "schedule": "0 0 * * *",
    "type": "export",
    "payload": {
        "name": "Inventory Export",
        "format": "csv",
        "sources": [{"application": "inventory", "resource": "hosts", "filters": {}}],
    },
}


def _audit(namespace: str) -> list[tuple[str, str, str]]:
    with psycopg.connect(os.environ["ALMANAC_DATABASE_URL"]) as conn:
        rows = conn.execute(
            "SELECT action, actor, org_id FROM audit_log WHERE namespace = %s ORDER BY id",
            (namespace,),
        ).fetchall()
    return [(str(a), str(b), str(c)) for a, b, c in rows]


async def _audited(namespace: str, expected: list[tuple[str, str, str]]) -> None:
    """The facade writes audit rows just after answering: wait for exactly these."""

    def check() -> bool:
        rows = _audit(namespace)
        assert rows == expected, rows
        return True

    await eventually(check, timeout=10, interval=0.05, what="the audit rows")


async def test_seed_create_example_is_a_scheduled_job_in_the_org_namespace(org: Org) -> None:
    reply = org.request("POST", "/jobs", json=SEED_EXPORT)
    assert reply.status_code == 201, reply.text
    job = reply.json()
    # The seed configured the Export Service URL server-side; so does the facade. The
    # export runs as the caller's organisation and user.
    payload = {
        "baseUrl": EXPORT_SERVICE_URL,
        "orgId": org.org_id,
        "username": "jdoe",
        **SEED_EXPORT["payload"],
    }
    assert {k: job[k] for k in ("name", "schedule", "type", "payload", "status", "last_run")} == {
        **SEED_EXPORT,
        "payload": payload,
        "status": "scheduled",
        "last_run": None,
    }
    assert org.request("GET", f"/jobs/{job['id']}").json()["payload"] == payload

    obj = org.kubectl.get("scheduledjob", job["resource_name"])
    assert obj["metadata"]["uid"] == job["id"]
    assert obj["metadata"]["annotations"]["almanac.dev/display-name"] == SEED_EXPORT["name"]
    assert obj["metadata"]["annotations"]["almanac.dev/created-by"] == "jdoe"
    assert obj["spec"]["template"] == "export"
    assert obj["spec"]["schedule"] == {"cron": "0 0 * * *", "timeZone": "UTC"}
    namespace = org.kubectl.get("namespace", org.namespace)
    assert namespace["metadata"]["labels"]["almanac.dev/org-id"] == org.org_id
    await _audited(org.namespace, [("create", "jdoe", org.org_id)])


def test_list_filters_by_status_and_name_and_pages(org: Org) -> None:
    first = org.create(name="alpha")
    org.create(name="beta")
    paused = org.create(name="gamma", status="paused")
    assert paused["status"] == "paused"

    everything = org.request("GET", "/jobs").json()
    assert [j["name"] for j in everything["data"]] == ["alpha", "beta", "gamma"]
    assert everything["meta"] == {
        "count": 3,
        "limit": 50,
        "offset": 0,
        "next": None,
        "previous": None,
    }
    by_status = org.request("GET", "/jobs", params={"status": "paused"}).json()
    assert [j["id"] for j in by_status["data"]] == [paused["id"]]
    by_name = org.request("GET", "/jobs", params={"name": "alpha"}).json()
    assert [j["id"] for j in by_name["data"]] == [first["id"]]
    page = org.request("GET", "/jobs", params={"limit": 1, "offset": 1}).json()
    assert [j["name"] for j in page["data"]] == ["beta"]
    assert page["meta"] == {
        "count": 3,
        "limit": 1,
        "offset": 1,
        "next": f"{BASE_PATH}/jobs?limit=1&offset=2",
        "previous": f"{BASE_PATH}/jobs?limit=1&offset=0",
    }

    def listed(**params: str) -> list[str]:
        reply = org.request("GET", "/jobs", params=params)
        assert reply.status_code == 200, reply.text
        return [j["name"] for j in reply.json()["data"]]

    assert listed(name_contains="MM") == ["gamma"]
    assert listed(sort="-name") == ["gamma", "beta", "alpha"]
    assert listed(created_by="jdoe", type="command") == ["alpha", "beta", "gamma"]
    assert listed(type="http_request") == []
    assert listed(created_by="someone-else") == []
    assert listed(created_after="2000-01-01T00:00:00Z") == ["alpha", "beta", "gamma"]
    bad = org.request("GET", "/jobs", params={"sort": "size"})
    assert bad.status_code == 400
    assert bad.json()["errors"][0]["field"] == "sort"


async def test_put_patch_and_delete_change_the_scheduled_job(org: Org) -> None:
    job = org.create(name="nightly", schedule="30 2 * * *")
    put = org.request(
        "PUT",
        f"/jobs/{job['id']}",
        json={
            "name": "renamed",
            "schedule": "@every 1h",
            "type": "command",
            "payload": {"command": ["echo", "x"]},
        },
    )
    assert put.status_code == 200, put.text
    assert (put.json()["name"], put.json()["schedule"]) == ("renamed", "@every 1h")
    patch = org.request(
        "PATCH", f"/jobs/{job['id']}", json={"schedule": "30 2 * * *", "timezone": "Europe/Berlin"}
    )
    assert patch.status_code == 200, patch.text
    obj = org.kubectl.get("scheduledjob", job["resource_name"])
    assert obj["spec"]["schedule"] == {"cron": "30 2 * * *", "timeZone": "Europe/Berlin"}
    assert obj["spec"]["params"] == {"command": ["echo", "x"]}
    assert obj["metadata"]["annotations"]["almanac.dev/updated-by"] == "jdoe"

    assert org.request("DELETE", f"/jobs/{job['id']}").status_code == 204
    assert org.request("GET", f"/jobs/{job['id']}").status_code == 404
    assert org.request("DELETE", f"/jobs/{job['id']}").status_code == 404
    actions = ["create", "update", "update", "delete"]
    await _audited(org.namespace, [(a, "jdoe", org.org_id) for a in actions])


async def test_kubectl_job_is_visible_and_manageable_through_rest(org: Org) -> None:
    org.create(name="made-by-rest")  # creates the namespace
    org.kubectl.apply(
        {
            "apiVersion": "almanac.dev/v1alpha1",
            "kind": "ScheduledJob",
            "metadata": {"name": "from-kubectl"},
            "spec": {
                "template": "http",
                "params": {"url": "http://127.0.0.1:9/x"},
                "schedule": {"every": "10m", "phase": "1m"},
                "overlapPolicy": "Allow",
            },
        }
    )

    def listed() -> list[dict[str, Any]]:
        found: list[dict[str, Any]] = org.request(
            "GET", "/jobs", params={"name": "from-kubectl"}
        ).json()["data"]
        return found

    # Lists are served from a watched copy: a kubectl write shows up within milliseconds.
    job = (await eventually(listed, timeout=10, what="the kubectl job in GET /jobs"))[0]
    assert (job["type"], job["schedule"], job["resource_name"]) == (
        "http_request",
        "@every 10m",
        "from-kubectl",
    )
    # A job made with kubectl has no REST creator: an organisation admin manages it.
    admin = org.as_user("carol", admin=True)
    try:
        paused = admin.request("POST", f"/jobs/{job['id']}/pause", json={"reason": "maintenance"})
        assert paused.json()["status"] == "paused"
        obj = org.kubectl.get("scheduledjob", "from-kubectl")
        assert obj["spec"]["suspend"] is True
        assert obj["spec"]["schedule"]["phase"] == "1m"
        assert obj["spec"]["overlapPolicy"] == "Allow"
        assert obj["metadata"]["annotations"]["almanac.dev/suspend-reason"] == "maintenance"
        assert admin.request("POST", f"/jobs/{job['id']}/pause").status_code == 409
        assert admin.request("POST", f"/jobs/{job['id']}/resume").json()["status"] == "scheduled"
        assert admin.request("POST", f"/jobs/{job['id']}/resume").status_code == 409
    finally:
        admin.http.close()
    org.kubectl.run("delete", "scheduledjob", "from-kubectl")
    assert org.request("GET", f"/jobs/{job['id']}").status_code == 404
    await eventually(lambda: not listed(), timeout=10, what="the deleted job gone from lists")


def test_invalid_requests_are_400_naming_the_field(org: Org) -> None:
    org.kubectl.apply(
        {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": org.namespace}}
    )
    org.kubectl.apply(
        {
            "apiVersion": "almanac.dev/v1alpha1",
            "kind": "JobTemplate",
            "metadata": {"name": "greeter"},
            "spec": {
                "image": "localhost/almanac:dev",
                "paramsSchema": {
                    "type": "object",
                    "required": ["who"],
                    "properties": {"who": {"type": "string"}},
                    "additionalProperties": False,
                },
            },
        }
    )
    cases: list[tuple[dict[str, Any], str]] = [
        ({"schedule": "0 25 * * *"}, "schedule"),
        ({"schedule": "0 0 30 2 *"}, "schedule"),
        ({"timezone": "Mars/Olympus"}, "timezone"),
        ({"type": "no-such-type"}, "type"),
        ({"type": "greeter", "payload": {}}, "payload.who"),
        ({"type": "greeter", "payload": {"who": 5}}, "payload.who"),
        ({"type": "greeter", "payload": {"who": "x", "extra": 1}}, "payload.extra"),
        ({"name": ""}, "name"),
    ]
    base: dict[str, Any] = {"name": "x", "schedule": "0 0 * * *", "type": "command", "payload": {}}
    for change, field in cases:
        reply = org.request("POST", "/jobs", json=base | change)
        assert reply.status_code == 400, (change, reply.text)
        assert field in [e["field"] for e in reply.json()["errors"]], (change, reply.text)
    good = org.request("POST", "/jobs", json=base | {"type": "greeter", "payload": {"who": "x"}})
    assert good.status_code == 201, good.text
    template = org.request("GET", "/templates/greeter").json()
    assert template["scope"] == "namespace"
    assert template["params_schema"]["required"] == ["who"]
    names = [t["name"] for t in org.request("GET", "/templates").json()["data"]]
    assert {"greeter", "http", "command", "export"} <= set(names)
    assert org.request("GET", "/templates/unknown-type").status_code == 404
    job_id = good.json()["id"]
    bad_patch = org.request("PATCH", f"/jobs/{job_id}", json={"payload": {"who": 1}})
    assert bad_patch.status_code == 400
    assert bad_patch.json()["errors"][0]["field"] == "payload.who"


def test_identity_errors_follow_the_seed_table(facade: FacadeProcess, org: Org) -> None:
    url = f"{facade.url}{BASE_PATH}/jobs"
    import httpx  # noqa: PLC0415

    assert httpx.get(url).status_code == 401
    assert httpx.get(url, headers={"x-rh-identity": "garbage"}).status_code == 400
    mismatch = {"identity": {"org_id": "1", "internal": {"org_id": "2"}}}
    header = base64.b64encode(json.dumps(mismatch).encode()).decode()
    forbidden = httpx.get(url, headers={"x-rh-identity": header})
    assert forbidden.status_code == 403
    assert forbidden.json()["errors"][0]["field"] == "x-rh-identity.identity.internal.org_id"


def test_next_lists_the_engines_slots(org: Org) -> None:
    job = org.create(schedule="30 2 * * *", timezone="Europe/Berlin")
    slots = org.request("GET", f"/jobs/{job['id']}/next", params={"count": 3}).json()["data"]
    assert len(slots) == 3
    assert all(s.endswith(("T02:30:00+01:00", "T02:30:00+02:00")) for s in slots)
    assert org.request("GET", f"/jobs/{job['id']}/next", params={"count": 0}).status_code == 400


def test_a_past_at_instant_is_refused_and_a_future_one_accepted(org: Org) -> None:
    past = org.request(
        "POST", "/jobs", json={"name": "Late", "schedule": "@at 2020-01-01T00:00:00Z",
                               "type": "command", "payload": {"command": ["true"]}},
    )  # fmt: skip
    assert past.status_code == 400, past.text
    assert past.json()["errors"][0]["field"] == "schedule"
    assert org.kubectl.list("scheduledjobs") == []  # nothing half-done
    job = org.create(name="Soon", schedule="@at 2099-01-01T00:00:00Z")
    moved = org.request(
        "PATCH", f"/jobs/{job['id']}", json={"schedule": "@at 2020-01-01T00:00:00Z"}
    )
    assert moved.status_code == 400
    assert moved.json()["errors"][0]["field"] == "schedule"
    renamed = org.request("PATCH", f"/jobs/{job['id']}", json={"name": "Later"})
    assert renamed.status_code == 200, renamed.text


async def test_a_create_sent_again_with_its_idempotency_key_makes_one_job(org: Org) -> None:
    """A caller whose answer was lost sends the create again under the same key: one
    ScheduledJob, the same id answered; the same key with another body is a 409 naming
    the header; another key makes another job."""
    body: dict[str, Any] = {"name": "Once", "schedule": "0 0 1 1 *", "type": "command"}
    body["payload"] = {"command": ["true"]}
    key = {"Idempotency-Key": "create-1"}
    first = org.request("POST", "/jobs", json=body, headers=key)
    again = org.request("POST", "/jobs", json=body, headers=key)
    assert (first.status_code, again.status_code) == (201, 201), again.text
    assert again.json()["id"] == first.json()["id"]
    changed = org.request("POST", "/jobs", json=body | {"schedule": "0 0 2 1 *"}, headers=key)
    assert changed.status_code == 409
    assert changed.json()["errors"][0]["field"] == "Idempotency-Key", changed.text
    other = org.request("POST", "/jobs", json=body, headers={"Idempotency-Key": "create-2"})
    assert other.status_code == 201
    listed = org.kubectl.list("scheduledjobs")
    assert sorted(j["metadata"]["uid"] for j in listed) == sorted(
        [first.json()["id"], other.json()["id"]]
    )
