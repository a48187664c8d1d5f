"""Bodies the scheduler tests feed in, as the API server would show them."""

from __future__ import annotations

from typing import Any


def trigger_job(**spec: Any) -> dict[str, Any]:
    """ScheduledJob ns/a (uid u1): the command template, one Kafka trigger ``t``."""
    return {
        "metadata": {
            "namespace": "ns",
            "name": "a",
            "uid": "u1",
            "creationTimestamp": "2026-12-01T11:00:00Z",
        },
        "spec": {
            "template": "command",
            "params": {"command": ["true"]},
            "triggers": [{"name": "t", "kafka": {"topic": "events"}}],
        }
        | spec,
    }
