"""The email payload against a real aiosmtpd server on 127.0.0.1 with a login.

The SMTP host passes the egress guard: these runs get 127.0.0.1 allowed the way the
operator grants networks (``ALMANAC_HTTP_ALLOW_CIDRS``); without it the host is refused
before any connection.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.integration.executor.conftest import RunExecutor, write_secret
from tests.integration.executor.peers import Inbox, smtp_server

PASSWORD = "correct-horse-battery"
ALLOW = {"ALMANAC_HTTP_ALLOW_CIDRS": "127.0.0.1/32"}


@pytest.fixture
def smtp() -> Iterator[tuple[Inbox, int]]:
    inbox = Inbox("reports", PASSWORD)
    with smtp_server(inbox) as port:
        yield inbox, port


def mail(port: int, **extra: Any) -> dict[str, Any]:
    return {
        "host": "127.0.0.1",
        "port": port,
        "security": "none",
        "from": "almanac@example.com",
        "to": ["ops@example.com"],
        "cc": ["audit@example.com"],
        "subject": "Nightly report",
        "body": "All 42 jobs ran.",
        "timeout": "10s",
    } | extra


def test_message_is_delivered_with_login(
    run_executor: RunExecutor, smtp: tuple[Inbox, int], secrets_dir: Path
) -> None:
    inbox, port = smtp
    password = write_secret(secrets_dir, "smtp", "password", PASSWORD)
    run = run_executor("email", mail(port, username="reports", password=password), **ALLOW)
    assert run.code == 0, run.result
    assert run.details["recipients"] == 2
    ((envelope, message),) = inbox.messages
    assert envelope.rcpt_tos == ["ops@example.com", "audit@example.com"]
    assert message["Subject"] == "Nightly report"
    assert message["X-Almanac-Run"] == "nightly-202601010200"
    assert str(message.get_payload()).strip() == "All 42 jobs ran."
    assert PASSWORD not in str(run.logs) + str(run.result)


def test_wrong_password_fails_naming_the_secret_param(
    run_executor: RunExecutor, smtp: tuple[Inbox, int], secrets_dir: Path
) -> None:
    inbox, port = smtp
    password = write_secret(secrets_dir, "smtp", "password", "wrong")
    run = run_executor("email", mail(port, username="reports", password=password), **ALLOW)
    assert run.code == 1
    assert run.details["field"] == "params.password"
    assert "refused the login of 'reports'" in run.result["summary"]
    assert inbox.messages == []


def test_missing_password_secret_is_named(
    run_executor: RunExecutor, smtp: tuple[Inbox, int]
) -> None:
    _, port = smtp
    ref = {"secretKeyRef": {"name": "smtp", "key": "password"}}
    run = run_executor("email", mail(port, username="reports", password=ref), **ALLOW)
    assert run.details == {"error": "secret_not_found", "field": "params.password"}


def test_unreachable_server_fails_clearly(run_executor: RunExecutor, closed_port: int) -> None:
    run = run_executor("email", mail(closed_port), **ALLOW)
    assert run.code == 1
    assert f"cannot talk to SMTP 127.0.0.1:{closed_port}" in run.result["summary"]


def test_loopback_server_is_refused_without_policy(
    run_executor: RunExecutor, smtp: tuple[Inbox, int]
) -> None:
    inbox, port = smtp
    run = run_executor("email", mail(port))
    assert run.code == 1
    assert run.details["error"] == "refused_target"
    assert (run.details["field"], run.details["reason"]) == ("params.host", "loopback")
    assert inbox.messages == []
