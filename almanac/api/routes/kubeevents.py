"""``GET /jobs/{job_id}/events``: the job's Kubernetes Events, newest first, as ``kubectl
describe sj`` shows them (:mod:`almanac.api.kubeevents`). Not to be confused with
``POST /events``, which publishes a trigger event on Kafka."""

from __future__ import annotations

from typing import Annotated, Final

from fastapi import APIRouter, Query

from almanac.api.dependencies import Caller, Service
from almanac.api.kubeevents import EVENTS_SHOWN, MAX_EVENTS, KubernetesEventList
from almanac.api.routes.common import ERRORS, success
from almanac.api.routes.jobexamples import Examples, example
from almanac.api.routes.jobs import JobId

__all__ = ["router"]

router = APIRouter(tags=["jobs"], responses=ERRORS)
_EXAMPLE: Final[Examples] = {
    "newest": example(
        "A run asked for by run-now, after slots skipped while paused",
        {
            "data": [
                {
                    "type": "Normal",
                    "reason": "RunNow",
                    "message": "run daily-inventory-export-x7k2p-20261203094107-m1 for slot "
                    "2026-12-03T09:41:07Z (manual, attempt 1)",
                    "count": 1,
                    "first_seen": "2026-12-03T09:41:08Z",
                    "last_seen": "2026-12-03T09:41:08Z",
                    "source": "almanac-operator",
                },
                {
                    "type": "Warning",
                    "reason": "Skipped",
                    "message": "1 slot(s) skipped: suspended",
                    "count": 1,
                    "first_seen": "2026-12-03T09:00:00Z",
                    "last_seen": "2026-12-03T09:00:00Z",
                    "source": "almanac-operator",
                },
            ],
            "truncated": False,
        },
    )
}


@router.get(
    "/jobs/{job_id}/events",
    summary="List a job's Kubernetes Events (newest first)",
    description="The Events the API server still keeps about the job's ScheduledJob (an hour "
    "by default): launches, skipped slots, results, refusals, as `kubectl describe sj` "
    "lists them.",
    operation_id="listJobEvents",
    responses=success(200, "The newest Events.", _EXAMPLE),
)
async def list_job_events(
    job_id: JobId,
    who: Caller,
    service: Service,
    limit: Annotated[
        int,
        Query(
            ge=1,
            le=MAX_EVENTS,
            description=f"How many, newest first (default {EVENTS_SHOWN}, max {MAX_EVENTS}).",
        ),
    ] = EVENTS_SHOWN,
) -> KubernetesEventList:
    return await service.job_events(who, job_id, limit)
