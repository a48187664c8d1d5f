"""A job's history (Postgres, scoped to the caller's namespace), one run by its id alone,
and a job's next slots.

A run list is filtered and ordered by the run's slot (the instant it was scheduled for),
never by its start: every run has a slot, a skipped or pending one has no start.
"""

from __future__ import annotations

from typing import Annotated, Final, Literal

from fastapi import APIRouter, Path, Query, Request, Response
from fastapi.responses import JSONResponse, PlainTextResponse
from pydantic import AwareDatetime

from almanac.api.dependencies import Caller, Service
from almanac.api.mapping import phases_for, run_view
from almanac.api.routes import examples
from almanac.api.routes.common import ERRORS, Limit, Offset, Responses, page_meta, success
from almanac.api.routes.jobs import JobId
from almanac.api.runlogs import required_logs, run_logs
from almanac.api.runreads import RunWindow
from almanac.api.schemas import JobStats, NextRuns, Run, RunList, RunLogs, RunStatus
from almanac.api.service import JobService as JobServiceType
from almanac.history.records import RunRecord

__all__ = ["router"]

router = APIRouter(tags=["runs"], responses=ERRORS)
RunId = Annotated[str, Path(max_length=253, description="Run id (the run's Job name).")]
IncludeLogs = Annotated[
    bool, Query(description="Add the tail of the run's log (`logs`), as getRunLogs reads it.")
]


async def _with_logs(service: JobServiceType, record: RunRecord, include: bool) -> Run:
    run = run_view(record)
    if include:
        run.logs = await run_logs(service, record)
    return run


def _logs_responses() -> Responses:
    """The JSON body, and the same lines as ``text/plain`` for ``Accept: text/plain``."""
    responses = success(200, "The log's newest lines.", examples.RUN_LOGS)
    text = {"schema": {"type": "string"}, "example": "line one\nline two\n"}
    responses[200]["content"]["text/plain"] = text
    return responses


_LOGS: Final[Responses] = _logs_responses()


def _prefers_text(accept: str) -> bool:
    """``Accept: text/plain`` (listed before any JSON) asks for the lines as text."""
    kinds = [part.split(";")[0].strip() for part in accept.split(",")]
    text = kinds.index("text/plain") if "text/plain" in kinds else None
    json = kinds.index("application/json") if "application/json" in kinds else None
    return text is not None and (json is None or text < json)


_SORT = "Order by slot: `-slot` newest first (default), `slot` oldest first."


@router.get(
    "/jobs/{job_id}/runs",
    summary="List a job's runs (newest first unless sorted otherwise)",
    operation_id="listRuns",
    responses=success(200, "One page of runs.", examples.RUN_LIST),
)
async def list_runs(
    job_id: JobId,
    *,
    who: Caller,
    service: Service,
    request: Request,
    status: Annotated[RunStatus | None, Query(description="Only runs in this status.")] = None,
    since: Annotated[
        AwareDatetime | None, Query(description="Only runs whose slot is at or after (RFC 3339).")
    ] = None,
    until: Annotated[
        AwareDatetime | None, Query(description="Only runs whose slot is at or before (RFC 3339).")
    ] = None,
    sort: Annotated[Literal["-slot", "slot"], Query(description=_SORT)] = "-slot",
    limit: Limit = 50,
    offset: Offset = 0,
) -> RunList:
    window = RunWindow(since, until, oldest_first=sort == "slot")
    records, total = await service.runs.list_runs(
        who, job_id, statuses=phases_for(status), window=window, limit=limit, offset=offset
    )
    meta = page_meta(request, total, limit, offset)
    return RunList(data=[run_view(r) for r in records], meta=meta)


@router.get(
    "/jobs/{job_id}/runs/{run_id}",
    summary="Get one run of a job",
    operation_id="getRun",
    responses=success(200, "The run.", examples.RUN),
)
async def get_run(
    job_id: JobId, run_id: RunId, who: Caller, service: Service, include_logs: IncludeLogs = False
) -> Run:
    return await _with_logs(service, await service.runs.get_run(who, job_id, run_id), include_logs)


@router.get(
    "/jobs/{job_id}/runs/{run_id}/logs",
    summary="The tail of a run's log",
    operation_id="getRunLogs",
    response_model=RunLogs,
    responses=_LOGS,
)
async def get_run_logs(
    job_id: JobId, run_id: RunId, who: Caller, service: Service, request: Request
) -> Response:
    logs = await required_logs(service, who, job_id, run_id)
    if _prefers_text(request.headers.get("accept", "")):
        return PlainTextResponse("".join(f"{line}\n" for line in logs.lines))
    return JSONResponse(logs.model_dump(mode="json"))


@router.get(
    "/runs/{run_id}",
    summary="Get one run by its id alone (alias of getExecution)",
    operation_id="getRunById",
    responses=success(200, "The run, as getExecution answers it.", examples.RUN),
)
@router.get(
    "/executions/{run_id}",
    summary="Get one run by its id alone",
    operation_id="getExecution",
    responses=success(200, "The run (its job may since have been deleted).", examples.RUN),
)
async def get_execution(
    run_id: RunId, who: Caller, service: Service, include_logs: IncludeLogs = False
) -> Run:
    return await _with_logs(service, await service.runs.get_execution(who, run_id), include_logs)


@router.get(
    "/jobs/{job_id}/stats",
    summary="Run statistics of a job",
    operation_id="getJobStats",
    responses=success(200, "Aggregates over the job's run history.", examples.JOB_STATS),
)
async def job_stats(job_id: JobId, who: Caller, service: Service) -> JobStats:
    return await service.runs.stats(who, job_id)


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
