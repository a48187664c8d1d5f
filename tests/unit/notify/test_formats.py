"""Notification formatting: platform format fields, lifecycle events, stable ids."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from almanac.core.status import RunPhase
from almanac.history import RunRecord
from almanac.notify import (
    NotifySettings,
    encode_payload,
    event_id,
    messages_for_run,
    namespace_of,
    org_id_of,
    platform_notification,
    run_event,
)
from tests.unit.history.builders import UID, finished, record, running
from tests.unit.notify.exportruns import EXPORT_ID, ROOT, export_record, run_export

SETTINGS = NotifySettings(enabled=True, bootstrap="127.0.0.1:9092")
PLATFORM_FIELDS = {
    "version",
    "id",
    "bundle",
    "application",
    "event_type",
    "timestamp",
    "account_id",
    "org_id",
    "context",
    "events",
    "recipients",
}


async def test_completion_notification_follows_the_platform_format(tmp_path: Path) -> None:
    message = await run_export(tmp_path, orgId="000101", accountNumber="000202")
    notice = platform_notification(
        export_record(message, params={"orgId": "000101", "accountNumber": "000202"}), SETTINGS
    )

    assert notice is not None
    assert set(notice) == PLATFORM_FIELDS
    assert notice["version"] == "v1.2.0"
    assert (notice["bundle"], notice["application"]) == ("rhel", "insights-scheduler")
    assert notice["event_type"] == "export-completed"
    assert (notice["account_id"], notice["org_id"]) == ("000202", "000101")
    assert notice["timestamp"] == "2026-03-01T02:00:32Z"
    assert notice["context"] == {
        "job_id": UID,
        "job_name": "nightly",
        "run_id": "nightly-202603010200",
        "status": "complete",
        "export_id": EXPORT_ID,
        "download_url": f"{ROOT}/exports/{EXPORT_ID}",
    }
    assert notice["events"][0]["payload"]["duration_seconds"] == 30.0


def test_failed_run_notification_carries_the_error() -> None:
    notice = platform_notification(
        finished(RunPhase.FAILED, replace(record(), template="http")), SETTINGS
    )

    assert notice is not None
    assert notice["event_type"] == "job-run-completed"
    assert notice["context"]["status"] == "failed"
    assert notice["context"]["error"] == "exit code 1"


@pytest.mark.parametrize("phase", [RunPhase.PENDING, RunPhase.RUNNING, RunPhase.SKIPPED])
def test_no_completion_notification_before_the_end(phase: RunPhase) -> None:
    assert platform_notification(replace(record(), phase=phase), SETTINGS) is None


@pytest.mark.parametrize(
    ("phase", "kinds"),
    [
        pytest.param(RunPhase.PENDING, [], id="pending-says-nothing"),
        pytest.param(RunPhase.RUNNING, ["almanac.run.started"], id="started"),
        pytest.param(RunPhase.SUCCEEDED, ["almanac.run.succeeded", "notification"], id="succeeded"),
        pytest.param(RunPhase.FAILED, ["almanac.run.failed", "notification"], id="failed"),
        pytest.param(RunPhase.SKIPPED, ["almanac.run.skipped"], id="skipped"),
        pytest.param(RunPhase.CANCELLED, ["almanac.run.cancelled", "notification"], id="cancelled"),
    ],
)
def test_messages_for_each_phase(phase: RunPhase, kinds: list[str]) -> None:
    messages = messages_for_run(replace(finished(), phase=phase), SETTINGS)

    got = [m.payload.get("type", "notification") for m in messages]
    assert got == kinds
    for message in messages:
        assert message.event_id == message.payload["id"]
        assert message.key == UID
        expected_topic = (
            SETTINGS.notify_topic if "bundle" in message.payload else SETTINGS.events_topic
        )
        assert message.topic == expected_topic


def test_disabled_notifications_enqueue_nothing() -> None:
    disabled = NotifySettings()

    assert messages_for_run(finished(), disabled) == ()


def test_redelivery_is_identical_and_ids_differ_by_phase() -> None:
    first = messages_for_run(finished(), SETTINGS)
    again = messages_for_run(finished(), SETTINGS)
    started = messages_for_run(running(), SETTINGS)

    assert [encode_payload(m.payload) for m in first] == [encode_payload(m.payload) for m in again]
    ids = {m.event_id for m in first} | {m.event_id for m in started}
    assert len(ids) == 3


def test_event_ids_are_uuids_from_their_parts() -> None:
    one = event_id("event", UID, "run-1", "Succeeded")

    assert one == event_id("event", UID, "run-1", "Succeeded")
    assert one != event_id("event", UID, "run-2", "Succeeded")
    assert one != event_id("notification", UID, "run-1", "Succeeded")
    assert len(one) == 36


def test_run_event_is_a_cloudevent_for_the_run() -> None:
    event = run_event(running())

    assert event is not None
    assert event["specversion"] == "1.0"
    assert (
        event["source"] == "/apis/almanac.dev/v1alpha1/namespaces/org-000101/scheduledjobs/nightly"
    )
    assert event["subject"] == "nightly-202603010200"
    assert event["time"] == "2026-03-01T02:00:02Z"
    assert event["data"]["status"] == "running"
    json.dumps(event)  # serialisable as is


@pytest.mark.parametrize(
    ("run", "will_retry"),
    [
        pytest.param(finished(RunPhase.FAILED, will_retry=True), True, id="failed-retried"),
        pytest.param(finished(RunPhase.FAILED), False, id="failed-last-attempt"),
        pytest.param(finished(), False, id="succeeded"),
        pytest.param(running(), False, id="running"),
    ],
)
def test_run_events_say_whether_a_retry_follows(run: RunRecord, will_retry: bool) -> None:
    event = run_event(run)

    assert event is not None
    assert event["data"]["will_retry"] is will_retry


@pytest.mark.parametrize(
    ("run", "org"),
    [
        pytest.param(record(namespace="org-000101", template="http"), "000101", id="org-ns"),
        pytest.param(record(namespace="team-a", template="http"), None, id="other-ns"),
        pytest.param(
            record(namespace="acme", params={"orgId": "7310042"}), "7310042", id="export-params"
        ),
    ],
)
def test_run_events_name_the_organisation_their_notice_names(
    run: RunRecord, org: str | None
) -> None:
    event = run_event(running(run))

    assert event is not None
    assert event["data"]["org_id"] == org


def test_a_labelled_namespace_names_its_organisation_in_events_and_notices() -> None:
    """A namespace not called ``org-<id>`` but labelled ``almanac.dev/org-id`` (the facade's
    pattern is configurable): its label is the organisation of every run there."""
    run = finished(RunPhase.SUCCEEDED, record(namespace="team-a", template="http"))
    messages = messages_for_run(run, SETTINGS, namespace_org="7310042")
    event, notice = (m.payload for m in messages)
    assert event["data"]["org_id"] == notice["org_id"] == "7310042"
    assert run_event(run, namespace_org=None)["data"]["org_id"] is None  # type: ignore[index]


@pytest.mark.parametrize(
    ("namespace", "org"),
    [("org-000101", "000101"), ("default", None), ("organisation", None)],
)
def test_org_id_of_namespace(namespace: str, org: str | None) -> None:
    assert org_id_of(namespace) == org


def test_every_published_payload_names_its_namespace() -> None:
    team = record(namespace="team-a")
    runs = [step for phase in RunPhase for step in (running(team), finished(phase, team))]
    messages = [m for step in runs for m in messages_for_run(step, SETTINGS)]

    assert {m.topic for m in messages} == {SETTINGS.events_topic, SETTINGS.notify_topic}
    assert {namespace_of(m.payload) for m in messages} == {"team-a"}


@pytest.mark.parametrize(
    "payload",
    [
        pytest.param({"id": "x"}, id="no-data"),
        pytest.param({"data": {"namespace": ""}}, id="empty"),
        pytest.param({"data": {"namespace": 7}}, id="not-text"),
        pytest.param({"events": []}, id="no-events"),
        pytest.param({"events": ["x"]}, id="odd-events"),
    ],
)
def test_payloads_naming_no_namespace_give_none(payload: dict[str, Any]) -> None:
    assert namespace_of(payload) is None


def test_a_dead_lettered_runs_failed_event_says_so_with_its_reason() -> None:
    dead = finished(RunPhase.FAILED, reason="timeout", dead_lettered_at=finished().slot)

    event = run_event(dead)

    assert event is not None
    assert event["type"] == "almanac.run.failed"
    assert (event["data"]["dead_lettered"], event["data"]["reason"]) == (True, "timeout")
