"""The request and response examples of the OpenAPI document, after seed 000's REST API.

The job is the seed's "Daily Inventory Export" (its create request and answer, its export
payload); the other bodies describe the same job so a reader can follow one story through
the document. They live here, not on the models, so a route can show several named cases;
``tests/unit/api/test_openapi_document.py`` parses every one with its model, so an example
cannot drift from what the facade accepts and answers.
"""

from __future__ import annotations

from typing import Any, Final

__all__ = [
    "BACKFILL_ACCEPTED",
    "BACKFILL_REQUEST",
    "ERRORS",
    "EVENT_ACCEPTED",
    "EVENT_INPUT",
    "JOB",
    "JOB_INPUT",
    "JOB_LIST",
    "JOB_PATCH",
    "JOB_STATS",
    "METRICS_SUMMARY",
    "NEXT_RUNS",
    "PAUSE_REQUEST",
    "RETRY_ACCEPTED",
    "RUN",
    "RUN_LIST",
    "RUN_LOGS",
    "RUN_NOW_ACCEPTED",
    "RUN_NOW_REQUEST",
    "TEMPLATE",
    "TEMPLATE_LIST",
    "Examples",
    "error_body",
    "json_examples",
]

from almanac.api.routes.jobexamples import (
    JOB,
    JOB_ID,
    JOB_INPUT,
    JOB_LIST,
    JOB_PATCH,
    RESOURCE,
    Examples,
)
from almanac.api.routes.jobexamples import example as _example
from almanac.core.tracing import run_trace_id

_RUN: Final = {
    "id": f"{RESOURCE}-202601270000",
    "job_id": JOB_ID,
    "status": "completed",
    "start_time": "2026-01-27T00:00:02Z",
    "end_time": "2026-01-27T00:00:41Z",
    "error_message": None,
    "result": {
        "export_id": "export-123",
        "status": "complete",
        "download_url": "http://export-service/exports/export-123",
    },
    "slot": "2026-01-27T00:00:00Z",
    "trigger": "schedule",
    "attempt": 1,
    "trace_id": run_trace_id(JOB_ID, f"{RESOURCE}-202601270000"),
}
_FAILED_RUN: Final = _RUN | {
    "id": f"{RESOURCE}-202601280000",
    "trace_id": run_trace_id(JOB_ID, f"{RESOURCE}-202601280000"),
    "status": "failed",
    "start_time": "2026-01-28T00:00:01Z",
    "end_time": "2026-01-28T00:10:01Z",
    "error_message": "export export-124 did not complete after 120 polls",
    "result": None,
    "slot": "2026-01-28T00:00:00Z",
}
RUN: Final[Examples] = {
    "completed": _example("A completed export", _RUN),
    "failed": _example("A failed export", _FAILED_RUN),
}
RUN_LOGS: Final[Examples] = {
    "failed": _example(
        "The end of a failed export's log",
        {
            "run_id": f"{RESOURCE}-202601280000",
            "lines": [
                '{"level": "INFO", "message": "export export-124 requested"}',
                '{"level": "ERROR", "message": "export export-124 did not complete"}',
            ],
            "truncated": True,
        },
    )
}
RUN_LIST: Final[Examples] = {
    "page": _example(
        "Newest first",
        {"data": [_FAILED_RUN, _RUN], "meta": {"count": 2, "limit": 50, "offset": 0}},
    )
}
JOB_STATS: Final[Examples] = {
    "stats": _example(
        "A month of nightly runs",
        {
            "job_id": JOB_ID,
            "job_name": "Daily Inventory Export",
            "total": 30,
            "running": 0,
            "succeeded": 27,
            "failed": 2,
            "timeouts": 0,
            "skipped": 1,
            "cancelled": 0,
            "success_rate": 0.93,
            "avg_seconds": 61.4,
            "min_seconds": 31.0,
            "max_seconds": 600.0,
            "p50_seconds": 39.0,
            "p95_seconds": 212.5,
            "p99_seconds": 598.0,
            "top_errors": [
                {
                    "error": "export export-124 did not complete after 120 polls",
                    "count": 2,
                    "last_seen": "2026-01-28T00:10:01Z",
                }
            ],
            "busiest_hours": [{"hour": 0, "count": 30}],
            "last_execution": {
                "run_id": f"{RESOURCE}-202602250000",
                "status": "completed",
                "started_at": "2026-02-25T00:00:02Z",
                "duration_seconds": 38.5,
            },
            "next_execution": {"scheduled_at": "2026-02-26T00:00:00Z"},
            "generated_at": "2026-02-25T09:30:00Z",
        },
    ),
    "new": _example(
        "A job that has not run yet",
        {
            "job_id": JOB_ID,
            "job_name": "Daily Inventory Export",
            "total": 0,
            "running": 0,
            "succeeded": 0,
            "failed": 0,
            "timeouts": 0,
            "skipped": 0,
            "cancelled": 0,
            "success_rate": None,
            "avg_seconds": None,
            "min_seconds": None,
            "max_seconds": None,
            "p50_seconds": None,
            "p95_seconds": None,
            "p99_seconds": None,
            "top_errors": [],
            "busiest_hours": [],
            "last_execution": None,
            "next_execution": {"scheduled_at": "2026-01-27T00:00:00Z"},
            "generated_at": "2026-01-26T10:31:00Z",
        },
    ),
}
METRICS_SUMMARY: Final[Examples] = {
    "day": _example(
        "The last 24 hours of an organisation",
        {
            "period": "24h",
            "jobs": {
                "total": 12,
                "scheduled": 9,
                "paused": 1,
                "running": 1,
                "failed": 1,
                "completed": 0,
                "cancelled": 0,
            },
            "runs": {
                "total": 140,
                "running": 1,
                "succeeded": 131,
                "failed": 6,
                "timeouts": 1,
                "skipped": 2,
                "cancelled": 0,
            },
            "performance": {
                "success_rate": 0.956,
                "avg_seconds": 42.7,
                "p50_seconds": 12.0,
                "p95_seconds": 181.3,
                "p99_seconds": 590.2,
            },
            "queue": {"running": 1, "pending": 0},
            "time_range": {"start": "2026-02-24T09:30:00Z", "end": "2026-02-25T09:30:00Z"},
            "generated_at": "2026-02-25T09:30:00Z",
        },
    )
}
NEXT_RUNS: Final[Examples] = {
    "next": _example(
        "The next three slots",
        {"data": ["2026-01-27T00:00:00Z", "2026-01-28T00:00:00Z", "2026-01-29T00:00:00Z"]},
    )
}

PAUSE_REQUEST: Final[Examples] = {
    "reason": _example("With a reason", {"reason": "export service maintenance until Monday"}),
    "empty": _example("Without a reason", {}),
}
RUN_NOW_REQUEST: Final[Examples] = {
    "as-is": _example("The job's own payload", {}),
    "other-format": _example("This run only: another format", {"payload": {"format": "json"}}),
}
RUN_NOW_ACCEPTED: Final[Examples] = {
    "accepted": _example(
        "Accepted",
        {
            "job_id": JOB_ID,
            "run_id": f"{RESOURCE}-20260127093012-m688077",
            "idempotency_key": "inventory-rerun-2026-01-27",
            "status": "accepted",
        },
    )
}
RETRY_ACCEPTED: Final[Examples] = {
    "accepted": _example(
        "Accepted",
        {
            "run_id": f"{RESOURCE}-202601280000",
            "job_id": JOB_ID,
            "retry_run_id": f"{RESOURCE}-202601280000-r1-a2",
            "status": "accepted",
        },
    )
}
BACKFILL_REQUEST: Final[Examples] = {
    "two-days": _example(
        "The two nights the export service was down",
        {"start": "2026-01-20T00:00:00Z", "end": "2026-01-21T23:59:59Z"},
    )
}
BACKFILL_ACCEPTED: Final[Examples] = {
    "accepted": _example(
        "One run per slot",
        {
            "job_id": JOB_ID,
            "runs": [f"{RESOURCE}-202601200000-b1", f"{RESOURCE}-202601210000-b1"],
            "created": 2,
        },
    )
}

EVENT_INPUT: Final[Examples] = {
    "event": _example(
        "An event with an id (reuse it when retrying after a 503)",
        {
            "id": "7d1c3f0e-5b7a-4f7e-9d7e-0c1b2a3d4e5f",
            "type": "export.requested",
            "data": {"application": "inventory", "resource": "hosts"},
        },
    ),
    "minimal": _example("Only a type (the id is generated)", {"type": "ticket.opened"}),
}
EVENT_ACCEPTED: Final[Examples] = {
    "accepted": _example(
        "On the trigger topic",
        {
            "id": "7d1c3f0e-5b7a-4f7e-9d7e-0c1b2a3d4e5f",
            "topic": "almanac.triggers",
            "namespace": "org-000101",
        },
    )
}

_TEMPLATE: Final = {
    "name": "export",
    "type": "export",
    "scope": "builtin",
    "description": "Built-in payload type run by Almanac's executor (no template installed).",
    "params_schema": None,
}
_CLEANUP: Final = {
    "name": "database-cleanup",
    "type": "database-cleanup",
    "scope": "namespace",
    "description": "Remove old records from a database table",
    "params_schema": {
        "type": "object",
        "properties": {
            "table": {"type": "string", "enum": ["users", "logs", "sessions"]},
            "dryRun": {"type": "boolean", "default": True},
        },
        "required": ["table"],
    },
}
TEMPLATE: Final[Examples] = {
    "builtin": _example("A built-in type", _TEMPLATE),
    "namespace": _example("A JobTemplate with a parameter schema", _CLEANUP),
}
TEMPLATE_LIST: Final[Examples] = {
    "list": _example(
        "Built-in and own types",
        {"data": [_CLEANUP, _TEMPLATE], "meta": {"count": 2, "limit": 2, "offset": 0}},
    )
}

#: One example error body per documented error status.
ERRORS: Final[dict[int, dict[str, Any]]] = {
    400: {"field": "schedule", "message": "'0 0 * *' has 4 fields; write 5 (minute hour ...)"},
    401: {
        "field": "x-rh-identity",
        "message": "the x-rh-identity header is missing; send the caller's base64-encoded identity",
    },
    403: {
        "field": None,
        "message": "the job was created by 'ann'; only its creator or an organisation admin "
        "may run it",
    },
    404: {"field": "id", "message": f"no job with id {JOB_ID!r}"},
    409: {"field": "status", "message": "the job is already paused"},
    413: {"field": "body", "message": "is larger than 32 KiB (32768 bytes); send a smaller body"},
    429: {
        "field": "",
        "message": "'jdoe' asked for 10 manual runs (run now or retry) in the last hour, the "
        "most allowed (10); wait, or let the schedule run the job",
    },
    503: {"field": "", "message": "the Kubernetes API is unreachable: connection refused"},
}
_CODES: Final = {
    400: "bad_request",
    401: "unauthenticated",
    403: "forbidden",
    404: "not_found",
    409: "conflict",
    413: "too_large",
    429: "limit_exceeded",
    503: "upstream_unavailable",
}


def error_body(status: int) -> dict[str, Any]:
    """The example ``{"errors": [...]}`` answered with ``status``."""
    return {"errors": [ERRORS[status] | {"code": _CODES[status]}]}


def json_examples(examples: Examples) -> dict[str, Any]:
    """``examples`` as an ``application/json`` content entry of a documented response."""
    return {"application/json": {"examples": examples}}
