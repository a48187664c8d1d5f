"""What the ``POST /events`` tests share: the clock, topic and caller, and record readers."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

from almanac.api import BASE_PATH, encode_identity
from almanac.api.metrics import ApiMetrics
from almanac.notify.publisher import Message

NOW = datetime(2026, 12, 1, 10, 0, 0, tzinfo=UTC)
TOPIC = "almanac.triggers"
IDENTITY = {"x-rh-identity": encode_identity("101")}
EVENTS = f"{BASE_PATH}/events"


def record_value(message: Message) -> dict[str, Any]:
    """The published record's value, decoded from UTF-8 JSON."""
    value: dict[str, Any] = json.loads(message.value.decode("utf-8"))
    return value


def outcome_counts(metrics: ApiMetrics) -> dict[str, float | None]:
    """``almanac_api_events_total`` by outcome (None for one never counted)."""
    return {
        outcome: metrics.registry.get_sample_value("almanac_api_events_total", {"outcome": outcome})
        for outcome in ("published", "failed")
    }
