"""The whole ScheduledJob spec over REST on the real stack (#21 item 3): the seeds' words in,
the CRD's fields out, kubectl and REST round-tripping each other's jobs without loss, seed
000's payload shapes, cancel, and the tag and next-run filters."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from tests.integration.api.conftest import DEFAULT_MESSAGE_TOPIC, Org
from tests.integration.operator_support import module_operator
from tests.support import eventually
from tests.support.kube import Kubectl
from tests.support.operator import OperatorProcess

FULL: dict[str, Any] = {
    "name": "Hourly report",
    "description": "Posts the hourly report",
    "tags": ["reports", "team-a"],
    "schedule": "0 * * * *",
    "timezone": "Europe/Berlin",
    "type": "command",
    "payload": {"command": ["true"]},
    "timeout_seconds": 90,
    "retry_policy": {
        "max_retries": 2,
        "initial_delay_seconds": 30,
        "backoff_factor": 3,
        "max_delay_seconds": 3600,
    },
    "overlap_policy": "replace",
    "start_date": "2026-02-01T00:00:00Z",
    "end_date": "2099-12-31T23:00:00Z",
    "max_executions": 1000,
    "jitter_seconds": 20,
    "catch_up": {"window_seconds": 1800, "max_runs": 2},
    "history_limits": {"successful": 1, "failed": 2},
    "triggers": [
        {"kafka": {"topic": "almanac.triggers", "filter": "event.type == 'report.asked'"}}
    ],
}


def test_every_seed_field_lands_in_the_spec_and_reads_back(org: Org) -> None:
    job = org.create(**FULL)
    spec = org.kubectl.get("scheduledjob", job["resource_name"])["spec"]
    assert spec["description"] == "Posts the hourly report"
    assert spec["tags"] == ["reports", "team-a"]
    assert spec["timeout"] == "1m30s"
    assert spec["retry"] == {
        "maxAttempts": 3,
        "backoff": {"initial": "30s", "factor": 3.0, "max": "1h"},
    }
    assert spec["overlapPolicy"] == "Replace"
    assert spec["schedule"] == {
        "cron": "0 * * * *",
        "timeZone": "Europe/Berlin",
        "startTime": "2026-02-01T00:00:00Z",
        "endTime": "2099-12-31T23:00:00Z",
        "maxRuns": 1000,
        "jitter": "20s",
    }
    assert spec["catchUp"] == {"window": "30m", "maxRuns": 2}
    assert spec["history"] == {"successfulJobs": 1, "failedJobs": 2}
    assert spec["triggers"] == [
        {"kafka": {"topic": "almanac.triggers", "filter": "event.type == 'report.asked'"}}
    ]
    read = org.request("GET", f"/jobs/{job['id']}").json()
    for field, value in FULL.items():
        assert read[field] == value, field
    assert (read["allow_overlap"], read["pod_template"]) == (False, None)


def test_a_kubectl_job_read_and_put_back_through_rest_keeps_its_spec(org: Org) -> None:
    org.create(name="namespace maker")
    org.kubectl.apply(
        {
            "apiVersion": "almanac.dev/v1alpha1",
            "kind": "ScheduledJob",
            "metadata": {"name": "hand-written"},
            "spec": {
                "template": "command",
                "params": {"command": ["true"]},
                "schedule": {"every": "90m", "phase": "1m", "jitter": "1m30s"},
                "retry": {"maxAttempts": 2, "backoff": {"initial": "90s"}},
                "overlapPolicy": "BufferOne",
                "podTemplate": {"resources": {"limits": {"cpu": "200m"}}},
            },
        }
    )
    before = org.kubectl.get("scheduledjob", "hand-written")
    uid = before["metadata"]["uid"]
    admin = org.as_user("carol", admin=True)
    try:
        read = admin.request("GET", f"/jobs/{uid}").json()
        assert read["pod_template"] == {"resources": {"limits": {"cpu": "200m"}}}
        assert read["retry_policy"]["initial_delay_seconds"] == 90
        body = {k: v for k, v in read.items() if k not in _READ_ONLY}
        put = admin.request("PUT", f"/jobs/{uid}", json=body)
        assert put.status_code == 200, put.text
        assert org.kubectl.get("scheduledjob", "hand-written")["spec"] == before["spec"]
        # The powers of a pod template are kubectl's to grant (a 403 naming it).
        forged = body | {"pod_template": {"serviceAccountName": "admin"}}
        refused = admin.request("PUT", f"/jobs/{uid}", json=forged)
        assert refused.status_code == 403
        assert refused.json()["errors"][0]["field"] == "pod_template"
        assert org.kubectl.get("scheduledjob", "hand-written")["spec"] == before["spec"]
        # A PATCH names only what changes; the rest of the retry policy stays.
        patched = admin.request("PATCH", f"/jobs/{uid}", json={"retry_policy": {"max_retries": 4}})
        assert patched.status_code == 200, patched.text
        retry = org.kubectl.get("scheduledjob", "hand-written")["spec"]["retry"]
        assert retry == {
            "maxAttempts": 5,
            "backoff": {"initial": "90s", "factor": 2.0, "max": "10m"},
        }
    finally:
        admin.http.close()


_READ_ONLY = {"id", "last_run", "next_run", "resource_name", "created_by", "created_at"}


def test_bad_spec_fields_are_400_naming_the_seed_field(org: Org) -> None:
    cases: list[tuple[dict[str, Any], tuple[str, ...]]] = [
        ({"retry_policy": {"max_retries": -1}}, ("retry_policy",)),
        ({"timeout_seconds": 0}, ("timeout_seconds",)),
        ({"tags": ["has space"]}, ("tags",)),
        ({"allow_overlap": True, "overlap_policy": "forbid"}, ("allow_overlap",)),
        (
            {"start_date": "2027-01-02T00:00:00Z", "end_date": "2027-01-01T00:00:00Z"},
            ("start_date", "end_date"),
        ),
        ({"triggers": [{"kafka": {"topic": "almanac.triggers", "colour": "red"}}]}, ("triggers",)),
        ({"overlap_policy": "sometimes"}, ("overlap_policy",)),
    ]
    for extra, field in cases:
        body = {"name": "Bad", "schedule": "0 0 * * *", "type": "command"} | extra
        body["payload"] = {"command": ["true"]}
        reply = org.request("POST", "/jobs", json=body)
        assert reply.status_code == 400, (extra, reply.text)
        fields = [e["field"] for e in reply.json()["errors"]]
        assert any(f == field or f.startswith(field) for f in fields), (extra, fields)
    listed = org.request("GET", "/jobs").json()["data"]
    assert listed == []  # nothing half-made


def test_seed_000_payload_shapes_are_stored_in_the_templates_words(org: Org) -> None:
    message = org.create(name="Heartbeat", type="message", payload={"message": "still alive"})
    command = org.create(name="Shell line", payload={"command": "echo hi && true"})
    message_spec = org.kubectl.get("scheduledjob", message["resource_name"])["spec"]
    assert message_spec["params"] == {"topic": DEFAULT_MESSAGE_TOPIC, "value": "still alive"}
    command_spec = org.kubectl.get("scheduledjob", command["resource_name"])["spec"]
    assert command_spec["params"] == {"command": "echo hi && true", "shell": True}


async def test_cancel_keeps_the_job_as_cancelled_for_good(org: Org) -> None:
    job = org.create(name="Soon over", schedule="@every 10s")
    reply = org.request("POST", f"/jobs/{job['id']}/cancel")
    assert reply.status_code == 200, reply.text
    assert reply.json()["status"] == "cancelled"
    obj = org.kubectl.get("scheduledjob", job["resource_name"])
    assert obj["spec"]["suspend"] is True
    assert "almanac.dev/cancelled" in obj["metadata"]["annotations"]
    for path, body in (("resume", None), ("cancel", None)):
        refused = org.request("POST", f"/jobs/{job['id']}/{path}", json=body)
        assert refused.status_code == 409, path
    assert (
        org.request("PATCH", f"/jobs/{job['id']}", json={"status": "scheduled"}).status_code == 409
    )
    renamed = org.request("PATCH", f"/jobs/{job['id']}", json={"name": "Over"})
    assert renamed.json()["status"] == "cancelled"

    def cancelled() -> list[str]:
        found = org.request("GET", "/jobs", params={"status": "cancelled"}).json()["data"]
        return [j["id"] for j in found]

    assert await eventually(cancelled, timeout=10, what="the job listed as cancelled") == [
        job["id"]
    ]


@pytest.fixture(scope="module")
def operator(crds: Kubectl, tmp_path_factory: pytest.TempPathFactory) -> Iterator[OperatorProcess]:
    """Writes the next runs the list filters and sorts by."""
    with module_operator("spec-over-rest", tmp_path_factory) as replica:
        yield replica


async def test_tags_and_next_run_filter_and_sort_the_list(
    org: Org, operator: OperatorProcess
) -> None:
    soon = org.create(name="Soon", schedule="@every 1h", tags=["a", "b"])
    later = org.create(name="Later", schedule="0 0 1 1 *", tags=["a"])
    org.create(name="Untagged", schedule="@every 2h")

    def names(**params: Any) -> list[str]:
        return [j["name"] for j in org.request("GET", "/jobs", params=params).json()["data"]]

    assert sorted(names(tags="a")) == ["Later", "Soon"]
    assert names(tags_all="a,b") == ["Soon"]

    # next_run comes from the operator's status: wait until it has written both.
    def both_known() -> list[str]:
        listed = org.request("GET", "/jobs", params={"tags": "a"}).json()["data"]
        assert all(j["next_run"] for j in listed), listed
        return [j["name"] for j in listed]

    await eventually(both_known, timeout=30, what="next runs of the tagged jobs")
    assert names(tags="a", sort="next_run") == ["Soon", "Later"]
    first = org.request("GET", f"/jobs/{later['id']}").json()["next_run"]
    assert names(tags="a", next_run_after=first) == ["Later"]
    assert names(tags="a", next_run_before=first) == ["Soon"]
    page = org.request("GET", "/jobs", params={"limit": 1}).json()["meta"]
    assert page["count"] == 3
    assert page["previous"] is None
    assert "offset=1" in page["next"]
    assert soon["tags"] == ["a", "b"]
