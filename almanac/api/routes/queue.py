"""``GET /queue``: the caller's organisation's runs waiting in the launch queue
(:mod:`almanac.api.queue`; docs/limits.md)."""

from __future__ import annotations

from typing import Annotated, Final

from fastapi import APIRouter, Query, Request

from almanac.api.dependencies import Caller, Service
from almanac.api.queue import QueueList, queued_runs
from almanac.api.routes.common import ERRORS, Limit, Offset, page_meta, success
from almanac.api.routes.jobexamples import JOB_ID, Examples, example

__all__ = ["router"]

router = APIRouter(tags=["queue"], responses=ERRORS)
_EXAMPLE: Final[Examples] = {
    "page": example(
        "Next first",
        {
            "data": [
                {
                    "position": 1,
                    "run_id": "nightly-export-202612030200",
                    "job_id": JOB_ID,
                    "reason": "namespace",
                    "priority": 1000,
                    "queued_at": "2026-12-03T02:00:01Z",
                    "slot": "2026-12-03T02:00:00Z",
                }
            ],
            "meta": {"count": 1, "limit": 50, "offset": 0},
        },
    )
}


@router.get(
    "/queue",
    summary="List the organisation's runs waiting for a limit (next first)",
    operation_id="listQueue",
    responses=success(200, "One page of queued runs.", _EXAMPLE),
)
async def list_queue(
    *,
    who: Caller,
    service: Service,
    request: Request,
    job_id: Annotated[
        str | None, Query(max_length=253, description="Only the queued runs of this job.")
    ] = None,
    limit: Limit = 50,
    offset: Offset = 0,
) -> QueueList:
    namespace = await service.namespace(who)
    runs = queued_runs(await service.kube.queued_jobs(namespace))
    if job_id is not None:
        runs = [run for run in runs if run.job_id == job_id]
    return QueueList(
        data=runs[offset : offset + limit], meta=page_meta(request, len(runs), limit, offset)
    )
