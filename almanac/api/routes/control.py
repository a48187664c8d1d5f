"""Job control: run now, pause, resume, backfill, retry a run."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Body, Header, Path

from almanac.api.dependencies import Caller, Service
from almanac.api.routes.common import ERRORS
from almanac.api.routes.jobs import JobId
from almanac.api.schemas import (
    BackfillAccepted,
    BackfillRequest,
    Job,
    PauseRequest,
    RetryAccepted,
    RunNowAccepted,
)

__all__ = ["router"]

router = APIRouter(tags=["control"], responses=ERRORS)
IdempotencyKey = Annotated[
    str | None,
    Header(
        alias="Idempotency-Key",
        min_length=1,
        max_length=253,
        pattern=r"^[\x21-\x7e]+$",
        description="Same key, same run: a repeated request launches nothing new.",
    ),
]


@router.post("/jobs/{job_id}/run", status_code=202, summary="Run a job now")
async def run_job(
    job_id: JobId, who: Caller, service: Service, key: IdempotencyKey = None
) -> RunNowAccepted:
    key = key or uuid.uuid4().hex
    await service.run_now(who, job_id, key)
    return RunNowAccepted(job_id=job_id, idempotency_key=key)


@router.post("/jobs/{job_id}/pause", summary="Pause a job (slots are skipped)")
async def pause_job(
    job_id: JobId,
    who: Caller,
    service: Service,
    body: Annotated[PauseRequest | None, Body()] = None,
) -> Job:
    return await service.set_paused(who, job_id, True, body.reason if body else None)


@router.post("/jobs/{job_id}/resume", summary="Resume a paused job")
async def resume_job(job_id: JobId, who: Caller, service: Service) -> Job:
    return await service.set_paused(who, job_id, False, None)


@router.post("/jobs/{job_id}/backfill", status_code=202, summary="Run past slots now")
async def backfill_job(
    job_id: JobId, body: BackfillRequest, who: Caller, service: Service
) -> BackfillAccepted:
    names, created = await service.backfill(who, job_id, body.start, body.end)
    return BackfillAccepted(job_id=job_id, runs=names, created=created)


@router.post("/runs/{run_id}/retry", status_code=202, summary="Retry a finished run")
async def retry_run(
    run_id: Annotated[str, Path(max_length=253)], who: Caller, service: Service
) -> RetryAccepted:
    job_id = await service.retry_run(who, run_id)
    return RetryAccepted(run_id=run_id, job_id=job_id)
