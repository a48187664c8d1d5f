"""A job's history (Postgres, scoped to the caller's namespace) and its next slots."""

from __future__ import annotations

from dataclasses import asdict
from typing import Annotated

from fastapi import APIRouter, Path, Query

from almanac.api.dependencies import Caller, Service
from almanac.api.mapping import phases_for, run_view
from almanac.api.routes import examples
from almanac.api.routes.common import ERRORS, Limit, Offset, success
from almanac.api.routes.jobs import JobId
from almanac.api.schemas import JobStats, ListMeta, NextRuns, Run, RunList, RunStatus

__all__ = ["router"]

router = APIRouter(tags=["runs"], responses=ERRORS)


@router.get(
    "/jobs/{job_id}/runs",
    summary="List a job's runs, newest first",
    operation_id="listRuns",
    responses=success(200, "One page of runs.", examples.RUN_LIST),
)
async def list_runs(
    job_id: JobId,
    *,
    who: Caller,
    service: Service,
    status: Annotated[RunStatus | None, Query(description="Only runs in this status.")] = None,
    limit: Limit = 50,
    offset: Offset = 0,
) -> RunList:
    records, total = await service.list_runs(who, job_id, phases_for(status), limit, offset)
    meta = ListMeta(count=total, limit=limit, offset=offset)
    return RunList(data=[run_view(r) for r in records], meta=meta)


@router.get(
    "/jobs/{job_id}/runs/{run_id}",
    summary="Get one run",
    operation_id="getRun",
    responses=success(200, "The run.", examples.RUN),
)
async def get_run(
    job_id: JobId, run_id: Annotated[str, Path(max_length=253)], who: Caller, service: Service
) -> Run:
    return run_view(await service.get_run(who, job_id, run_id))


@router.get(
    "/jobs/{job_id}/stats",
    summary="Run statistics of a job",
    operation_id="getJobStats",
    responses=success(200, "Aggregates over the job's run history.", examples.JOB_STATS),
)
async def job_stats(job_id: JobId, who: Caller, service: Service) -> JobStats:
    stats = await service.stats(who, job_id)
    values = asdict(stats)
    return JobStats.model_validate(values)


@router.get(
    "/jobs/{job_id}/next",
    summary="The next slots of a job's schedule",
    operation_id="getNextRuns",
    responses=success(200, "The next slots.", examples.NEXT_RUNS),
)
async def next_runs(
    job_id: JobId,
    who: Caller,
    service: Service,
    count: Annotated[int, Query(ge=1, le=1000, description="How many slots.")] = 10,
) -> NextRuns:
    return NextRuns(data=await service.next_runs(who, job_id, count))
