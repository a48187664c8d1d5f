"""Job control: run now, pause, resume, cancel, backfill, retry a run.

The 202 answers carry ``Location``: the path where what they started will show. A run-now
and a retry start one run whose id is known at once (the run's name follows from its
request), so their ``Location`` is that run (``getExecution``); it answers 404 until the
operator has launched the run and the history holds it, as the contract of Turn 2 pins. A
backfill starts several runs (named in the answer), launched one at a time under most
overlap policies, so its ``Location`` is the job's runs list (``listRuns``), where they
appear.
"""

from __future__ import annotations

import uuid
from typing import Annotated, Final

from fastapi import APIRouter, Body, Path, Request, Response

from almanac.api.actionschemas import (
    BackfillAccepted,
    BackfillRequest,
    PauseRequest,
    RetryAccepted,
    RunNowAccepted,
    RunNowRequest,
)
from almanac.api.dependencies import Caller, Service
from almanac.api.routes import examples
from almanac.api.routes.common import (
    ERRORS,
    LOCATION,
    IdempotencyKey,
    Responses,
    error_response,
    success,
)
from almanac.api.routes.common import location as path_of
from almanac.api.routes.jobs import JobId
from almanac.api.schemas import Job

__all__ = ["router"]

router = APIRouter(tags=["control"], responses=ERRORS)
_LIMITED: Final[Responses] = {429: error_response(429)}
_RUNS_LOCATION: Final = "`Location` is the job's runs list, where the run will show."
_RUN_LOCATION: Final = (
    "`Location` is the run (`getExecution`): 404 until the operator has launched it."
)


def _runs_of(request: Request, response: Response, job_id: str) -> None:
    response.headers["Location"] = path_of(request, "list_runs", job_id=job_id)


def _run_at(request: Request, response: Response, run_id: str) -> None:
    response.headers["Location"] = path_of(request, "get_execution", run_id=run_id)


@router.post(
    "/jobs/{job_id}/run",
    status_code=202,
    summary="Run a job now",
    operation_id="runJob",
    responses=success(
        202, f"Accepted. {_RUN_LOCATION}", examples.RUN_NOW_ACCEPTED, headers=LOCATION
    )
    | _LIMITED,
)
async def run_job(
    job_id: JobId,
    *,
    who: Caller,
    service: Service,
    request: Request,
    response: Response,
    key: IdempotencyKey = None,
    body: Annotated[RunNowRequest | None, Body(openapi_examples=examples.RUN_NOW_REQUEST)] = None,
) -> RunNowAccepted:
    key = key or uuid.uuid4().hex
    run_id = await service.asks.run_now(who, job_id, key, body.payload if body else None)
    _run_at(request, response, run_id)
    return RunNowAccepted(job_id=job_id, run_id=run_id, idempotency_key=key)


@router.post(
    "/jobs/{job_id}/pause",
    summary="Pause a job (slots are skipped)",
    operation_id="pauseJob",
    responses=success(200, "The paused job.", {"paused": examples.JOB["paused"]}),
)
async def pause_job(
    job_id: JobId,
    who: Caller,
    service: Service,
    body: Annotated[PauseRequest | None, Body(openapi_examples=examples.PAUSE_REQUEST)] = None,
) -> Job:
    return await service.set_paused(who, job_id, True, body.reason if body else None)


@router.post(
    "/jobs/{job_id}/resume",
    summary="Resume a paused job",
    operation_id="resumeJob",
    responses=success(200, "The resumed job.", {"seed": examples.JOB["seed"]}),
)
async def resume_job(job_id: JobId, who: Caller, service: Service) -> Job:
    return await service.set_paused(who, job_id, False, None)


@router.post(
    "/jobs/{job_id}/cancel",
    summary="Cancel a job: no more runs, kept with its history",
    operation_id="cancelJob",
    responses=success(200, "The cancelled job.", {"cancelled": examples.JOB["cancelled"]}),
)
async def cancel_job(job_id: JobId, who: Caller, service: Service) -> Job:
    return await service.cancel_job(who, job_id)


@router.post(
    "/jobs/{job_id}/backfill",
    status_code=202,
    summary="Run past slots now",
    operation_id="backfillJob",
    responses=success(
        202, f"Accepted. {_RUNS_LOCATION}", examples.BACKFILL_ACCEPTED, headers=LOCATION
    ),
)
async def backfill_job(
    job_id: JobId,
    body: Annotated[BackfillRequest, Body(openapi_examples=examples.BACKFILL_REQUEST)],
    *,
    who: Caller,
    service: Service,
    request: Request,
    response: Response,
) -> BackfillAccepted:
    names, created = await service.asks.backfill(who, job_id, body.start, body.end)
    _runs_of(request, response, job_id)
    return BackfillAccepted(job_id=job_id, runs=names, created=created)


@router.post(
    "/runs/{run_id}/retry",
    status_code=202,
    summary="Retry a finished run",
    operation_id="retryRun",
    responses=success(202, f"Accepted. {_RUN_LOCATION}", examples.RETRY_ACCEPTED, headers=LOCATION)
    | _LIMITED,
)
async def retry_run(
    run_id: Annotated[str, Path(max_length=253)],
    who: Caller,
    service: Service,
    request: Request,
    response: Response,
) -> RetryAccepted:
    job_id, retry_run_id = await service.asks.retry_run(who, run_id)
    _run_at(request, response, retry_run_id)
    return RetryAccepted(run_id=run_id, job_id=job_id, retry_run_id=retry_run_id)
