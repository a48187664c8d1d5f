"""``spec.notifications`` on the real stack: a job failing every 5 s reaches a local SMTP
server and a local webhook receiver (both started here, on 127.0.0.1, which the operator's
settings allow-list), a success after it sends Recovered, a Kafka target gets its record,
the test endpoint answers each target's verdict; one organisation can neither point
notifications at another's topics nor test another's job (each beside its control), and a
private webhook address that is not allow-listed is refused before any connection.

The operator runs as a local process (``module_operator``) so its notification settings
are plain environment variables here."""

from __future__ import annotations

import json
import socket
import threading
import uuid
from collections.abc import Iterator
from email import message_from_bytes
from email.message import Message
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from aiosmtpd.controller import Controller

from tests.integration.api.conftest import Org, facade, make_org, org  # noqa: F401 (fixtures)
from tests.integration.operator_support import module_operator
from tests.integration.test_kafka_tenancy import whole_topic
from tests.support import Kubectl, eventually
from tests.support.operator import OperatorProcess

#: A run failing every 5 s is told within seconds; the margin covers pods starting on a
#: loaded node and the operator's first list.
TOLD_WITHIN = 120.0
ANNOTATION = "almanac.dev/kafka-topics"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Mailbox:
    """An aiosmtpd handler keeping every message it is handed."""

    def __init__(self) -> None:
        self.messages: list[Message] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.messages.append(message_from_bytes(envelope.content))
        return "250 OK"

    def about(self, job: str, words: str) -> list[Message]:
        return [m for m in self.messages if job in m["Subject"] and words in m["Subject"]]


class Hooks:
    """What the local webhook receiver was sent (JSON bodies and headers)."""

    def __init__(self) -> None:
        self.received: list[tuple[dict[str, str], dict[str, Any]]] = []

    def about(self, job: str, words: str) -> list[dict[str, Any]]:
        return [b for _, b in self.received if job in b["text"] and words in b["text"]]


@pytest.fixture(scope="module")
def mailbox() -> Iterator[tuple[Mailbox, int]]:
    box, port = Mailbox(), _free_port()
    controller = Controller(box, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield box, port
    finally:
        controller.stop()


@pytest.fixture(scope="module")
def hooks() -> Iterator[tuple[Hooks, int]]:
    seen = Hooks()

    class Receiver(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length", "0"))
            body = json.loads(self.rfile.read(length))
            seen.received.append((dict(self.headers.items()), body))
            self.send_response(200)
            self.end_headers()
            self.wfile.write(b"ok")

        def log_message(self, *args: Any) -> None:
            return

    server = ThreadingHTTPServer(("127.0.0.1", 0), Receiver)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield seen, int(server.server_address[1])
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture(scope="module")
def operator(
    crds: Kubectl,
    tmp_path_factory: pytest.TempPathFactory,
    mailbox: tuple[Mailbox, int],
) -> Iterator[OperatorProcess]:
    env = {
        "ALMANAC_NOTIFICATIONS_SMTP_HOST": "127.0.0.1",
        "ALMANAC_NOTIFICATIONS_SMTP_PORT": str(mailbox[1]),
        "ALMANAC_NOTIFICATIONS_SMTP_SECURITY": "none",
        "ALMANAC_NOTIFICATIONS_FROM": "almanac@example.com",
        # The receivers here are on loopback, which the guard refuses unless allowed.
        "ALMANAC_NOTIFICATIONS_WEBHOOK_ALLOW": "127.0.0.1/32",
        "ALMANAC_NOTIFICATIONS_LINK_BASE": "https://almanac.example.com",
    }
    with module_operator("notify-suite", tmp_path_factory, env) as replica:
        yield replica


def failing_job(name: str, notifications: list[dict[str, Any]]) -> dict[str, Any]:
    return {
        "name": name,
        "schedule": "@every 5s",
        "type": "command",
        "payload": {"command": ["false"]},
        "notifications": notifications,
    }


async def test_a_failing_job_reaches_smtp_and_the_webhook_then_recovery_is_told(
    operator: OperatorProcess,
    org: Org,  # noqa: F811 (fixture)
    mailbox: tuple[Mailbox, int],
    hooks: tuple[Hooks, int],
) -> None:
    box, (seen, port) = mailbox[0], hooks
    targets = [
        {"on": ["Failed", "Recovered"], "email": {"to": ["ops@example.com"]}},
        {"on": ["Failed", "Recovered"], "webhook": {"url": f"http://127.0.0.1:{port}/hook"}},
    ]
    job = org.create(**failing_job("Flaky nightly", targets))
    name = f"{org.namespace}/{job['resource_name']}"

    [mail, *_] = await eventually(
        lambda: box.about(name, "failed"), timeout=TOLD_WITHIN, what="the failure e-mail"
    )
    payload = mail.get_payload(decode=True)
    assert isinstance(payload, bytes)
    body = payload.decode()
    assert "Status: Failed" in body
    assert "Error: command exited with code 1" in body
    assert f"https://almanac.example.com/api/scheduler/v1/jobs/{job['id']}/runs/" in body
    [hook, *_] = await eventually(
        lambda: seen.about(name, "failed"), timeout=30, what="the failure webhook"
    )
    assert hook["blocks"]
    headers = next(h for h, b in seen.received if b is hook)
    assert headers.get("Almanac-Delivery-Id")

    reply = org.request("PATCH", f"/jobs/{job['id']}", json={"payload": {"command": ["true"]}})
    assert reply.status_code == 200, reply.text
    await eventually(
        lambda: box.about(name, "recovered"), timeout=TOLD_WITHIN, what="the recovery e-mail"
    )
    await eventually(lambda: seen.about(name, "recovered"), timeout=30, what="the recovery hook")
    org.request("POST", f"/jobs/{job['id']}/pause")


async def test_a_kafka_target_gets_the_record(
    operator: OperatorProcess,
    org: Org,  # noqa: F811 (fixture)
    stack: dict[str, str],
) -> None:
    topic = f"t-notify-{uuid.uuid4().hex[:8]}"
    job = org.create(**failing_job("Kafka told", [{"on": ["Failed"], "kafka": {"topic": topic}}]))
    bootstrap = stack["ALMANAC_KAFKA_BOOTSTRAP"]

    async def told() -> list[dict[str, Any]]:
        return [json.loads(r.value) for r in await whole_topic(bootstrap, topic) if r.value]

    [record, *_] = await eventually(told, timeout=TOLD_WITHIN, what=f"a record on {topic}")
    assert (record["job_id"], record["status"]) == (job["id"], "Failed")
    assert record["run_id"]
    org.request("POST", f"/jobs/{job['id']}/pause")


async def test_the_test_endpoint_reaches_each_target_and_only_for_the_jobs_organisation(
    operator: OperatorProcess,
    make_org: Any,  # noqa: F811 (fixture)
    mailbox: tuple[Mailbox, int],
    hooks: tuple[Hooks, int],
) -> None:
    box, (seen, port) = mailbox[0], hooks
    a, b = make_org("alice"), make_org("bob")
    targets = [
        {"on": ["Failed"], "email": {"to": ["team@example.com"]}},
        {"on": ["Failed"], "webhook": {"url": f"http://127.0.0.1:{port}/test"}},
    ]
    job = a.create(name="Quiet", status="paused", notifications=targets)

    refused = b.request("POST", f"/jobs/{job['id']}/notifications/test")
    assert refused.status_code == 404, refused.text

    reply = a.request("POST", f"/jobs/{job['id']}/notifications/test")  # the control
    assert reply.status_code == 200, reply.text
    results = reply.json()["results"]
    assert [(r["channel"], r["outcome"]) for r in results] == [
        ("email", "delivered"),
        ("webhook", "delivered"),
    ]
    name = f"{a.namespace}/{job['resource_name']}"
    assert box.about(name, "test notification")
    assert seen.about(name, "test notification")


async def test_an_organisation_cannot_point_notifications_at_anothers_topics(
    make_org: Any,  # noqa: F811 (fixture)
    kubectl: Kubectl,
) -> None:
    a, b = make_org("alice"), make_org("bob")
    for tenant in (a, b):  # their namespaces exist once they hold a job; then the platform's list
        tenant.create(name="Seed", status="paused")
        kubectl.run("annotate", "namespace", tenant.namespace, f"{ANNOTATION}={tenant.org_id}.*")
    topic = f"{a.org_id}.alerts"
    entry = {"on": ["Failed"], "kafka": {"topic": topic}}

    reply = b.request("POST", "/jobs", json=failing_job("Spy", [entry]) | {"status": "paused"})
    assert reply.status_code == 400, reply.text
    [error] = reply.json()["errors"]
    assert error["field"] == "notifications[0].kafka.topic"
    assert f"topic {topic!r} is not one this namespace may use" in error["message"]

    a.create(**failing_job("Mine", [entry]) | {"status": "paused"})  # the control


async def test_a_private_webhook_address_is_refused_unless_allow_listed(
    operator: OperatorProcess,
    org: Org,  # noqa: F811 (fixture)
) -> None:
    targets = [{"on": ["Failed"], "webhook": {"url": "http://10.255.255.1:8080/admin"}}]
    job = org.create(name="Inward", status="paused", notifications=targets)

    reply = org.request("POST", f"/jobs/{job['id']}/notifications/test")
    assert reply.status_code == 200, reply.text
    [result] = reply.json()["results"]
    assert result["outcome"] == "failed"
    assert "10.255.255.1, a private address" in result["error"]
    assert "ALMANAC_NOTIFICATIONS_WEBHOOK_ALLOW" in result["error"]

    def warned() -> list[dict[str, Any]]:
        selector = f"involvedObject.name={job['resource_name']},reason=NotificationFailed"
        listed = org.kubectl.run("get", "events", "--field-selector", selector, "-o", "json")
        return list(json.loads(listed)["items"])

    [event, *_] = await eventually(warned, timeout=30, what="a NotificationFailed Event")
    assert event["type"] == "Warning"
