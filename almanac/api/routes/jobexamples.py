"""The job examples of the OpenAPI document: seed 000's "Daily Inventory Export" as created,
read, changed, paused and cancelled, and a create in each shape the facade takes (every spec
field in the seeds' words, seed 000's message payload, an event-only job).

Split from :mod:`almanac.api.routes.examples` (which re-exports them) to keep each module
one size a reader takes in; the run, control and template examples build on these ids.
"""

from __future__ import annotations

from typing import Any, Final

__all__ = [
    "JOB",
    "JOB_ID",
    "JOB_INPUT",
    "JOB_LIST",
    "JOB_PATCH",
    "RESOURCE",
    "Examples",
    "example",
]

Examples = dict[str, dict[str, Any]]

JOB_ID: Final = "550e8400-e29b-41d4-a716-446655440000"
RESOURCE: Final = "daily-inventory-export-x7k2p"
_SEED_PAYLOAD: Final = {
    "name": "Inventory Export",
    "format": "csv",
    "sources": [{"application": "inventory", "resource": "hosts", "filters": {}}],
}
_SEED_JOB: Final = {
    "name": "Daily Inventory Export",
    "schedule": "0 0 * * *",
    "type": "export",
    "payload": _SEED_PAYLOAD,
}


def example(summary: str, value: Any) -> dict[str, Any]:
    return {"summary": summary, "value": value}


JOB_INPUT: Final[Examples] = {
    "seed": example("Seed 000's daily inventory export", _SEED_JOB),
    "command": example(
        "A command at 02:30 Berlin time",
        {
            "name": "Nightly cleanup",
            "schedule": "30 2 * * *",
            "timezone": "Europe/Berlin",
            "type": "command",
            "payload": {"command": ["echo", "hello"]},
        },
    ),
    "paused": example(
        "An HTTP call every 90 s, created paused",
        {
            "name": "Inventory sync",
            "schedule": "@every 90s",
            "type": "http_request",
            "payload": {"method": "POST", "url": "http://inventory.internal/api/sync"},
            "status": "paused",
        },
    ),
    "full": example(
        "Every setting in the seeds' words",
        {
            "name": "Hourly report",
            "description": "Posts the hourly report to the reports service",
            "tags": ["reports", "team-a"],
            "schedule": "0 * * * *",
            "timezone": "Europe/Berlin",
            "type": "http_request",
            "payload": {"method": "POST", "url": "http://reports.internal/api/hourly"},
            "timeout_seconds": 300,
            "retry_policy": {
                "max_retries": 3,
                "initial_delay_seconds": 30,
                "backoff_factor": 2.0,
                "max_delay_seconds": 600,
            },
            "overlap_policy": "forbid",
            "start_date": "2026-02-01T00:00:00Z",
            "end_date": "2026-12-31T23:59:59Z",
            "max_executions": 1000,
            "jitter_seconds": 20,
            "catch_up": {"window_seconds": 3600, "max_runs": 1},
            "history_limits": {"successful": 3, "failed": 5},
        },
    ),
    "seed_message": example(
        "Seed 000's message payload (published to the default message topic)",
        {
            "name": "Heartbeat",
            "schedule": "@every 5m",
            "type": "message",
            "payload": {"message": "still alive"},
        },
    ),
    "event": example(
        "Runs on a Kafka event instead of a clock",
        {
            "name": "On ticket opened",
            "schedule": None,
            "type": "command",
            "payload": {"command": "echo opened", "shell": True},
            "triggers": [
                {"kafka": {"topic": "almanac.triggers", "filter": "event.type == 'ticket.opened'"}}
            ],
        },
    ),
}
JOB_PATCH: Final[Examples] = {
    "reschedule": example(
        "Weekday mornings in New York instead",
        {"schedule": "0 6 * * 1-5", "timezone": "America/New_York"},
    ),
    "rename": example("Only a new display name", {"name": "Daily Inventory Export (CSV)"}),
    "retries": example(
        "Three retries; the other retry settings stay", {"retry_policy": {"max_retries": 3}}
    ),
    "unbounded": example("No end date any more", {"end_date": None}),
}
_JOB: Final = {
    "id": JOB_ID,
    **_SEED_JOB,
    "timezone": "UTC",
    "status": "scheduled",
    "last_run": None,
    "next_run": "2026-01-27T00:00:00Z",
    "resource_name": RESOURCE,
    "created_by": "jdoe",
    "created_at": "2026-01-26T10:30:00Z",
    "description": None,
    "tags": [],
    "timeout_seconds": None,
    "retry_policy": {
        "max_retries": 0,
        "initial_delay_seconds": 10,
        "backoff_factor": 2.0,
        "max_delay_seconds": 600,
    },
    "overlap_policy": "forbid",
    "allow_overlap": False,
    "start_date": None,
    "end_date": None,
    "max_executions": None,
    "jitter_seconds": None,
    "catch_up": {"window_seconds": 3600, "max_runs": 1},
    "history_limits": {"successful": 3, "failed": 5},
    "triggers": [],
    "pod_template": None,
}
JOB: Final[Examples] = {
    "seed": example("The seed's job as created", _JOB),
    "paused": example(
        "Paused after its first run",
        _JOB | {"status": "paused", "last_run": "2026-01-27T00:00:02Z", "next_run": None},
    ),
    "cancelled": example(
        "Cancelled: no more runs, its history kept",
        _JOB | {"status": "cancelled", "last_run": "2026-01-27T00:00:02Z", "next_run": None},
    ),
}
_META_ONE: Final = {"count": 1, "limit": 50, "offset": 0}
JOB_LIST: Final[Examples] = {"page": example("One page", {"data": [_JOB], "meta": _META_ONE})}
