"""What the outbox relay sends for a stored row: the payload's bytes, the ``event-id``
header and, for a record about a namespace (every lifecycle event and notice), the
``almanac-namespace`` header, so the events topic's records can be routed per organisation."""

from __future__ import annotations

from typing import Any

from almanac.core.kafkanames import NAMESPACE_HEADER
from almanac.history.records import OutboxMessage
from almanac.notify import NamespacedMessage, NotifySettings, encode_payload, messages_for_run
from almanac.notify.relay import _message
from tests.unit.history.builders import finished

SETTINGS = NotifySettings(enabled=True, bootstrap="127.0.0.1:9092")


def row(message: OutboxMessage) -> tuple[Any, ...]:
    """The outbox row the relay claims (id, event_id, topic, key, payload, attempts)."""
    return (1, message.event_id, message.topic, message.key, message.payload, 0)


def test_lifecycle_events_and_notices_carry_the_namespace_header() -> None:
    stored = messages_for_run(finished(), SETTINGS)
    assert {m.topic for m in stored} == {"almanac.events", "platform.notifications.ingress"}
    for message in stored:
        sent = _message(row(message))
        assert isinstance(sent, NamespacedMessage)
        assert sent.headers == [
            ("event-id", message.event_id.encode()),
            (NAMESPACE_HEADER, b"org-000101"),
        ]
        assert (sent.topic, sent.key) == (message.topic, message.key)
        assert sent.value == encode_payload(message.payload)


def test_a_payload_about_no_namespace_carries_only_the_event_id() -> None:
    sent = _message((1, "e-1", "almanac.events", "k", {"id": "e-1", "type": "x"}, 0))
    assert sent.headers == [("event-id", b"e-1")]
