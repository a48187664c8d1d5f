"""The trigger record ``POST /events`` publishes: its value, headers and key."""

from __future__ import annotations

import pytest

from almanac.api.events import NAMESPACE_HEADER, trigger_message
from almanac.api.schemas import EventInput
from tests.unit.api.event_support import NOW, TOPIC, record_value


def test_record_value_carries_event_time_source_and_organisation() -> None:
    event = EventInput(id="e-1", type="ticket.opened", data={"ticket": "T-9", "n": [1, 2]})

    message = trigger_message(
        event, event_id="e-1", topic=TOPIC, namespace="org-101", org_id="101", now=NOW
    )

    assert message.topic == TOPIC
    assert record_value(message) == {
        "id": "e-1",
        "type": "ticket.opened",
        "data": {"ticket": "T-9", "n": [1, 2]},
        "time": "2026-12-01T10:00:00Z",
        "source": "almanac-api",
        "namespace": "org-101",
        "orgId": "101",
    }


def test_record_headers_name_the_namespace_and_the_event_id() -> None:
    message = trigger_message(
        EventInput(type="t"),
        event_id="e-1",
        topic=TOPIC,
        namespace="org-101",
        org_id="101",
        now=NOW,
    )

    assert dict(message.headers) == {NAMESPACE_HEADER: b"org-101", "event-id": b"e-1"}


@pytest.mark.parametrize(
    ("key", "expected"), [(None, "e-1"), ("ticket-9", "ticket-9")], ids=["no-key", "key"]
)
def test_record_key_is_the_given_key_else_the_event_id(key: str | None, expected: str) -> None:
    message = trigger_message(
        EventInput(type="t", key=key),
        event_id="e-1",
        topic=TOPIC,
        namespace="org-101",
        org_id="101",
        now=NOW,
    )

    assert message.key == expected


def test_record_value_is_utf8_json_for_non_ascii_data() -> None:
    message = trigger_message(
        EventInput(type="t", data={"name": "Zoë ✓"}),
        event_id="e",
        topic=TOPIC,
        namespace="org-1",
        org_id="1",
        now=NOW,
    )

    assert record_value(message)["data"] == {"name": "Zoë ✓"}
