"""Trigger specs and compile helpers shared by the trigger and event tests."""

from __future__ import annotations

from typing import Any

from almanac.core import parse_spec
from almanac.core.triggers import CompiledTrigger, compile_triggers

__all__ = ["ESCALATE", "OPENED", "compile_all", "compile_one"]

ESCALATE: dict[str, Any] = {
    "name": "escalate",
    "kafka": {
        "topic": "tickets",
        "filter": 'event.type == "ticket.opened"',
        "key": "event.ticket",
    },
    "sequence": ["0s", "1d", "3d"],
    "cancelOn": [
        {
            "kafka": {
                "topic": "tickets",
                "filter": 'event.type == "ticket.resolved"',
                "key": "event.ticket",
            }
        }
    ],
    "params": {"ticket": "event.ticket"},
}
OPENED = {"id": "evt-1", "type": "ticket.opened", "ticket": 42, "priority": "high"}


def compile_all(*triggers: dict[str, Any]) -> tuple[CompiledTrigger, ...]:
    """Validate triggers as the CRD model does, then compile them."""
    spec = parse_spec({"template": "http", "triggers": list(triggers)})
    return compile_triggers(spec.triggers)


def compile_one(**trigger: Any) -> CompiledTrigger:
    (compiled,) = compile_all(trigger)
    return compiled
