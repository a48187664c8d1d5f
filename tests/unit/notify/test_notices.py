"""Notifications to people, the pure parts: what a message says on each channel, how one
notice fans out to a job's entries, the per-job hourly budget, and the settings."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest

from almanac.api import ApiSettings, create_app
from almanac.api.app import BASE_PATH
from almanac.core.errors import InvalidInputError
from almanac.core.notifymodels import Notification, NotifyOn
from almanac.core.notifyrules import RUN_PATH, NoticeBudget, notice_id, pick_outcome, run_link
from almanac.notify.fanout import fan_out
from almanac.notify.messages import (
    TEST,
    Notice,
    email_message,
    kafka_record,
    slack_body,
    subject,
    text,
)
from almanac.notify.noticesettings import NoticeSettings

AT = datetime(2026, 3, 1, 2, 30, tzinfo=UTC)
FAILED = Notice(
    "team-a",
    "nightly",
    "uid-1",
    "Failed",
    AT,
    run="nightly-abc-1",
    attempt=3,
    error="exit code 2",
    link="https://almanac.example.com/api/scheduler/v1/jobs/uid-1/runs/nightly-abc-1",
)


def entry(*on: str, **target: object) -> Notification:
    return Notification.model_validate(
        {"on": list(on), **(target or {"email": {"to": ["ops@example.com"]}})}
    )


# -- messages ----------------------------------------------------------------------------


def test_a_message_names_job_run_status_error_and_link() -> None:
    body = text(FAILED)
    assert FAILED.link is not None
    for fact in ("team-a/nightly", "nightly-abc-1", "Status: Failed", "exit code 2", FAILED.link):
        assert fact in body, fact
    assert subject(FAILED) == "[Almanac] team-a/nightly: run nightly-abc-1 failed"


def test_a_message_after_a_quiet_spell_says_how_many_were_left_out() -> None:
    later = Notice(**(FAILED.__dict__ | {"suppressed": 7}))
    assert "7 earlier notification(s) of this job were not sent" in text(later)
    assert "were not sent" not in text(FAILED)


def test_a_pause_says_why_and_how_to_resume() -> None:
    paused = Notice("team-a", "nightly", "uid-1", "Paused", AT, run="r", paused="paused after 3")
    body = text(paused)
    assert "paused after 3" in body
    assert "almanac resume nightly -n team-a" in body
    assert '{"spec":{"suspend":false}}' in body
    assert "/api/scheduler/v1/jobs/uid-1/resume" in body


def test_the_slack_body_has_text_for_every_receiver_and_blocks() -> None:
    body = slack_body(FAILED)
    assert body["text"] == text(FAILED)
    assert body["blocks"][0]["text"]["text"].startswith(":x: *Job team-a/nightly")
    json.dumps(body)  # serialisable as is


def test_a_long_error_is_cut() -> None:
    long = Notice(**(FAILED.__dict__ | {"error": "x" * 5000}))
    assert len(kafka_record(long, "d-1")["error"]) == 1000


def test_the_email_carries_the_delivery_id_as_message_id() -> None:
    message = email_message(FAILED, "almanac@example.com", ["a@example.com"], "d-1")
    assert message["Message-ID"] == "<d-1@example.com>"
    assert message["To"] == "a@example.com"
    assert "exit code 2" in message.get_content()


def test_a_notice_survives_its_json_form() -> None:
    assert Notice.from_json(json.loads(json.dumps(FAILED.to_json()))) == FAILED


def test_the_run_link_is_the_facades_get_run_route() -> None:
    paths = create_app(ApiSettings()).openapi()["paths"]
    assert RUN_PATH.startswith(BASE_PATH)
    assert paths[RUN_PATH]["get"]["operationId"] == "getRun"
    assert run_link("https://a.example/", "u", "r") == f"https://a.example{BASE_PATH}/jobs/u/runs/r"
    assert run_link(None, "u", "r") is None
    assert run_link("https://a.example", "u", None) == f"https://a.example{BASE_PATH}/jobs/u"


# -- which outcome an entry hears, and the fan-out -----------------------------------------


@pytest.mark.parametrize(
    ("on", "outcomes", "heard"),
    [
        (["Failed"], ["DeadLettered", "Failed"], "Failed"),
        (["DeadLettered", "Failed"], ["DeadLettered", "Failed"], "DeadLettered"),
        (["Succeeded"], ["Recovered", "Succeeded"], "Succeeded"),
        (["Succeeded", "Recovered"], ["Recovered", "Succeeded"], "Recovered"),
        (["Recovered"], ["Succeeded"], None),
        (["Failed"], ["Succeeded"], None),
    ],
    ids=[
        "failed-hears-a-dead-letter-as-failed",
        "dead-lettered-wins-when-both",
        "succeeded-hears-a-recovery-as-succeeded",
        "recovered-wins-when-both",
        "recovered-does-not-hear-a-plain-success",
        "failed-does-not-hear-a-success",
    ],
)
def test_an_entry_hears_a_run_once_as_its_most_specific_outcome(
    on: list[str], outcomes: list[str], heard: str | None
) -> None:
    picked = pick_outcome(entry(*on), [NotifyOn(o) for o in outcomes])
    assert (picked.value if picked else None) == heard


def test_a_run_fans_out_one_delivery_per_entry_that_hears_it_with_stable_ids() -> None:
    entries = [
        entry("Failed"),
        entry("Succeeded", webhook={"url": "https://hooks.example.com/x"}),
        entry("DeadLettered", kafka={"topic": "team-a.alerts"}),
    ]
    outcomes = (NotifyOn.DEAD_LETTERED, NotifyOn.FAILED)
    first = fan_out(entries, FAILED, outcomes)
    assert [(d.entry, d.channel, d.notice["outcome"]) for d in first] == [
        (0, "email", "Failed"),
        (2, "kafka", "DeadLettered"),
    ]
    assert [d.delivery_id for d in fan_out(entries, FAILED, outcomes)] == [
        d.delivery_id for d in first
    ]
    assert first[0].delivery_id == notice_id("uid-1", "nightly-abc-1", "Failed", 0)
    assert first[1].target == {"topic": "team-a.alerts"}


def test_a_pause_goes_to_the_failed_subscribers_and_a_test_to_everyone() -> None:
    entries = [entry("Failed"), entry("Recovered")]
    paused = Notice("team-a", "nightly", "uid-1", "Paused", AT, run="r", paused="why")
    assert [d.entry for d in fan_out(entries, paused)] == [0]
    test = Notice("team-a", "nightly", "uid-1", TEST, AT)
    assert [d.entry for d in fan_out(entries, test, subject="test-1")] == [0, 1]


def test_a_webhooks_secret_is_stored_as_a_reference_only() -> None:
    hook = entry(
        "Failed",
        webhook={
            "url": "https://hooks.example.com/x",
            "secretHeader": {"name": "X-Token", "secretKeyRef": {"name": "s", "key": "k"}},
        },
    )
    [delivery] = fan_out([hook], FAILED, (NotifyOn.FAILED,))
    assert delivery.target["secretHeader"] == {
        "name": "X-Token",
        "secretKeyRef": {"name": "s", "key": "k"},
    }


# -- the budget ----------------------------------------------------------------------------


def test_the_budget_holds_back_past_its_hourly_count_and_reports_them_on_the_next() -> None:
    budget = NoticeBudget(per_hour=2)
    assert budget.take("u", AT) == (True, 0)
    assert budget.take("u", AT + timedelta(minutes=1)) == (True, 0)
    assert budget.take("u", AT + timedelta(minutes=2)) == (False, 0)
    assert budget.take("u", AT + timedelta(minutes=3)) == (False, 0)
    assert budget.suppressed("u") == 2
    assert budget.take("u", AT + timedelta(minutes=61)) == (True, 2)
    assert budget.suppressed("u") == 0


def test_the_budget_is_per_job() -> None:
    budget = NoticeBudget(per_hour=1)
    assert budget.take("a", AT) == (True, 0)
    assert budget.take("b", AT) == (True, 0)
    assert budget.take("a", AT) == (False, 0)


# -- settings ------------------------------------------------------------------------------


def test_settings_default_to_no_smtp_and_nothing_internal_allowed() -> None:
    settings = NoticeSettings.from_env({})
    assert settings.smtp_host is None
    assert settings.webhook_allow.hosts == frozenset()
    assert settings.webhook_allow.networks == ()
    assert settings.per_hour == 20


def test_settings_read_smtp_allow_list_and_link() -> None:
    settings = NoticeSettings.from_env(
        {
            "ALMANAC_NOTIFICATIONS_SMTP_HOST": "smtp.example.com",
            "ALMANAC_NOTIFICATIONS_SMTP_SECURITY": "ssl",
            "ALMANAC_NOTIFICATIONS_SMTP_USERNAME": "almanac",
            "ALMANAC_NOTIFICATIONS_SMTP_PASSWORD": "s3cret",
            "ALMANAC_NOTIFICATIONS_WEBHOOK_ALLOW": "hooks.internal, 10.0.0.0/8",
            "ALMANAC_NOTIFICATIONS_PER_HOUR": "5",
            "ALMANAC_NOTIFICATIONS_LINK_BASE": "https://almanac.example.com",
        }
    )
    assert (settings.smtp_port, settings.per_hour) == (465, 5)
    assert settings.webhook_allow.allows_host("HOOKS.internal")
    assert "s3cret" not in repr(settings)


@pytest.mark.parametrize(
    ("env", "variable"),
    [
        ({"ALMANAC_NOTIFICATIONS_SMTP_SECURITY": "tls"}, "ALMANAC_NOTIFICATIONS_SMTP_SECURITY"),
        ({"ALMANAC_NOTIFICATIONS_SMTP_USERNAME": "a"}, "ALMANAC_NOTIFICATIONS_SMTP_USERNAME"),
        ({"ALMANAC_NOTIFICATIONS_PER_HOUR": "0"}, "ALMANAC_NOTIFICATIONS_PER_HOUR"),
        ({"ALMANAC_NOTIFICATIONS_FROM": "nobody"}, "ALMANAC_NOTIFICATIONS_FROM"),
        ({"ALMANAC_NOTIFICATIONS_LINK_BASE": "almanac.example"}, "ALMANAC_NOTIFICATIONS_LINK_BASE"),
    ],
    ids=["security", "login-half", "per-hour-zero", "sender", "link-without-scheme"],
)
def test_a_bad_setting_is_refused_naming_the_variable(env: dict[str, str], variable: str) -> None:
    with pytest.raises(InvalidInputError) as caught:
        NoticeSettings.from_env(env)
    assert caught.value.field == variable
