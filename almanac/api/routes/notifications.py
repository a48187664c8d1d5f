"""Notifications: send a test message to each of a job's targets."""

from __future__ import annotations

from typing import Any, Final

from fastapi import APIRouter, Response

from almanac.api.dependencies import Caller, Service
from almanac.api.notifytest import NotificationTestReport, send_test
from almanac.api.routes.common import ERRORS, success
from almanac.api.routes.jobexamples import example
from almanac.api.routes.jobs import JobId

__all__ = ["router"]

router = APIRouter(tags=["notifications"], responses=ERRORS)

_EXAMPLE: Final[dict[str, Any]] = {
    "job_id": "0b6c1e8e-5d0c-4a59-9d42-8f3e5a1c2b7d",
    "results": [
        {
            "entry": 0,
            "channel": "email",
            "delivery_id": "5b1f0b9e-8f0e-5a55-9a5e-0c2d8b6f4e21",
            "outcome": "delivered",
            "error": None,
        },
        {
            "entry": 1,
            "channel": "webhook",
            "delivery_id": "9d3c2a71-4b6e-5f0a-8c1d-2e7f9a0b3c45",
            "outcome": "failed",
            "error": "the webhook answered HTTP 404",
        },
    ],
}

_PENDING: Final[dict[str, Any]] = {
    "job_id": _EXAMPLE["job_id"],
    "results": [r | {"outcome": "pending", "error": None} for r in _EXAMPLE["results"]],
}


_ANSWERS: Final = success(
    200,
    "Every target's verdict (delivered, or failed with why).",
    {"sent": example("One target reached, one not", _EXAMPLE)},
) | success(
    202,
    "Some targets have no verdict yet (`pending`): the operator sends them when it leads.",
    {"pending": example("No leader has sent them yet", _PENDING)},
)
_ANSWERS[202]["model"] = NotificationTestReport


@router.post(
    "/jobs/{job_id}/notifications/test",
    summary="Send a test message to each of a job's notification targets",
    operation_id="testNotifications",
    responses=_ANSWERS,
)
async def test_notifications(
    job_id: JobId, who: Caller, service: Service, response: Response
) -> NotificationTestReport:
    report = await send_test(service, who, job_id)
    response.status_code = 200 if report.settled else 202
    return report
