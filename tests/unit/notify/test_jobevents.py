"""A ScheduledJob's lifecycle events: CloudEvents on the events topic, stable ids, the
namespace and organisation in ``data``."""

from __future__ import annotations

import dataclasses
import json
from datetime import UTC, datetime
from typing import Any

import pytest

from almanac.core.jobchanges import JobAction, JobChange, JobFacts
from almanac.notify import NotifySettings, encode_payload, job_event, messages_for_job, namespace_of
from tests.unit.history.builders import UID

SETTINGS = NotifySettings(enabled=True, bootstrap="127.0.0.1:9092")
AT = datetime(2026, 3, 1, 12, 0, 5, tzinfo=UTC)
FACTS = JobFacts(
    namespace="org-000101",
    name="nightly-report-x7k2p",
    uid=UID,
    resource_version="48213",
    generation=2,
    created=datetime(2026, 3, 1, 11, 58, 41, tzinfo=UTC),
    deleted=None,
    suspended=False,
    cancelled=None,
    display_name="Nightly report",
    created_by="alice",
    updated_by="bob",
    spec_digest="0" * 64,
)


def change(action: JobAction, key: str = "rv-48213", **facts: Any) -> JobChange:
    return JobChange(action, dataclasses.replace(FACTS, **facts), key, AT)


def test_a_job_event_is_a_cloudevent_for_the_job() -> None:
    event = job_event(change(JobAction.PAUSED, suspended=True), "000101")

    assert event["specversion"] == "1.0"
    assert event["type"] == "almanac.job.paused"
    assert event["source"] == (
        "/apis/almanac.dev/v1alpha1/namespaces/org-000101/scheduledjobs/nightly-report-x7k2p"
    )
    assert (event["subject"], event["time"]) == ("nightly-report-x7k2p", "2026-03-01T12:00:05Z")
    assert event["data"] == {
        "job_id": UID,
        "job_name": "nightly-report-x7k2p",
        "display_name": "Nightly report",
        "namespace": "org-000101",
        "org_id": "000101",
        "action": "paused",
        "actor": "bob",
        "generation": 2,
        "suspended": True,
        "cancelled_at": None,
        "suspend_reason": None,
    }
    json.dumps(event)  # serialisable as is


def test_the_same_change_gives_the_same_bytes_and_another_change_another_id() -> None:
    first = messages_for_job(change(JobAction.PAUSED), SETTINGS, "000101")
    again = messages_for_job(change(JobAction.PAUSED), SETTINGS, "000101")
    later = messages_for_job(change(JobAction.PAUSED, "rv-48300"), SETTINGS, "000101")
    resumed = messages_for_job(change(JobAction.RESUMED), SETTINGS, "000101")

    assert [encode_payload(m.payload) for m in first] == [encode_payload(m.payload) for m in again]
    assert len({m.event_id for m in (*first, *later, *resumed)}) == 3


def test_one_message_on_the_events_topic_keyed_by_the_job() -> None:
    (message,) = messages_for_job(change(JobAction.CREATED, "created"), SETTINGS, None)

    assert (message.topic, message.key) == (SETTINGS.events_topic, UID)
    assert message.event_id == message.payload["id"]
    assert message.payload["data"]["org_id"] is None


def test_disabled_notifications_enqueue_no_job_event() -> None:
    assert messages_for_job(change(JobAction.CREATED), NotifySettings(), "000101") == ()


@pytest.mark.parametrize("action", list(JobAction))
def test_every_job_event_names_its_namespace_for_the_relay(action: JobAction) -> None:
    (message,) = messages_for_job(change(action), SETTINGS, "000101")

    assert namespace_of(message.payload) == "org-000101"
    assert message.payload["type"] == f"almanac.job.{action}"


def test_a_cancelled_event_carries_the_instant() -> None:
    cancelled = change(
        JobAction.CANCELLED, "cancelled-2026-03-01T12:00:00Z", cancelled="2026-03-01T12:00:00Z"
    )

    assert job_event(cancelled, "000101")["data"]["cancelled_at"] == "2026-03-01T12:00:00Z"


def test_a_paused_event_carries_the_suspend_reason() -> None:
    reason = "paused after 3 consecutive failed runs (spec.pauseAfterFailures)"
    paused = change(JobAction.PAUSED, suspended=True, suspend_reason=reason)
    resumed = change(JobAction.RESUMED, suspended=False, suspend_reason=reason)

    assert job_event(paused, "000101")["data"]["suspend_reason"] == reason
    assert job_event(resumed, "000101")["data"]["suspend_reason"] is None
