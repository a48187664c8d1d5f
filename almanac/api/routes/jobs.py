"""``/jobs``: the seed's CRUD over ScheduledJobs of the caller's organisation.

Each route names its ``operationId`` (``createJob``, ``listJobs``...): generated clients take
their method names from it, so it is part of the API and must not change with a Python
function's name.
"""

from __future__ import annotations

from typing import Annotated, Final, Literal

from fastapi import APIRouter, Body, Path, Query, Request, Response
from pydantic import AwareDatetime

from almanac.api.dependencies import Caller, Service
from almanac.api.errors import BadRequestError
from almanac.api.jobfilter import JobFilter, SortKey
from almanac.api.mapping import job_view
from almanac.api.routes import examples
from almanac.api.routes.common import (
    ERRORS,
    LOCATION,
    IdempotencyKey,
    Limit,
    Offset,
    Responses,
    error_response,
    location,
    page_meta,
    success,
)
from almanac.api.schemas import Job, JobInput, JobList, JobPatch, JobStatus

__all__ = ["JobId", "router"]

router = APIRouter(tags=["jobs"], responses=ERRORS)
JobId = Annotated[str, Path(max_length=128, description="The job's id (metadata.uid).")]
NewJob = Annotated[JobInput, Body(openapi_examples=examples.JOB_INPUT)]
_JOB: Final[Responses] = success(200, "The job.", examples.JOB)
_CREATED: Final[Responses] = success(
    201, "Created; `Location` is the job's path.", examples.JOB, headers=LOCATION
) | {429: error_response(429)}


@router.post(
    "/jobs", status_code=201, summary="Create a job", operation_id="createJob", responses=_CREATED
)
async def create_job(
    body: NewJob,
    *,
    who: Caller,
    service: Service,
    request: Request,
    response: Response,
    key: IdempotencyKey = None,
) -> Job:
    job = await service.create_job(who, body.model_dump(exclude_none=True), key)
    response.headers["Location"] = location(request, "get_job", job_id=job.id)
    return job


@router.get(
    "/jobs",
    summary="List the organisation's jobs",
    operation_id="listJobs",
    responses=success(200, "One page of jobs.", examples.JOB_LIST),
)
async def list_jobs(
    *,
    who: Caller,
    service: Service,
    request: Request,
    status: Annotated[JobStatus | None, Query(description="Only jobs in this status.")] = None,
    name: Annotated[str | None, Query(max_length=253, description="Exact display name.")] = None,
    name_contains: Annotated[
        str | None, Query(max_length=253, description="Display name contains (any case).")
    ] = None,
    type: Annotated[str | None, Query(max_length=253, description="Payload type.")] = None,
    created_by: Annotated[
        str | None, Query(max_length=255, description="Username that created the job.")
    ] = None,
    created_after: Annotated[
        AwareDatetime | None, Query(description="Created at or after (RFC 3339).")
    ] = None,
    created_before: Annotated[
        AwareDatetime | None, Query(description="Created before (RFC 3339).")
    ] = None,
    tags: Annotated[
        list[str] | None,
        Query(
            max_length=32, description="Jobs with any of these tags (repeat, or comma-separate)."
        ),
    ] = None,
    tags_all: Annotated[
        list[str] | None,
        Query(
            max_length=32, description="Jobs with all of these tags (repeat, or comma-separate)."
        ),
    ] = None,
    next_run_after: Annotated[
        AwareDatetime | None, Query(description="Next run at or after (RFC 3339).")
    ] = None,
    next_run_before: Annotated[
        AwareDatetime | None, Query(description="Next run before (RFC 3339).")
    ] = None,
    sort: Annotated[
        Literal["created", "-created", "name", "-name", "next_run", "-next_run"],
        Query(
            description="Order: created (default), name or next_run (jobs without one after "
            "the rest); a leading '-' reverses it."
        ),
    ] = "created",
    limit: Limit = 50,
    offset: Offset = 0,
) -> JobList:
    query = JobFilter(
        status=status,
        name=name,
        name_contains=name_contains,
        type=type,
        created_by=created_by,
        created_after=created_after,
        created_before=created_before,
        tags=_tag_set(tags),
        tags_all=_tag_set(tags_all),
        next_run_after=next_run_after,
        next_run_before=next_run_before,
        sort=_SORT_KEYS[sort.removeprefix("-")],
        descending=sort.startswith("-"),
    )
    jobs = await service.list_jobs(who, query)
    meta = page_meta(request, len(jobs), limit, offset)
    return JobList(data=jobs[offset : offset + limit], meta=meta)


_SORT_KEYS: Final[dict[str, SortKey]] = {
    "created": "created",
    "name": "name",
    "next_run": "next_run",
}


def _tag_set(values: list[str] | None) -> frozenset[str]:
    """``?tags=a&tags=b`` and ``?tags=a,b`` alike."""
    return frozenset(t.strip() for v in values or () for t in v.split(",") if t.strip())


@router.get("/jobs/{job_id}", summary="Get a job", operation_id="getJob", responses=_JOB)
async def get_job(job_id: JobId, who: Caller, service: Service) -> Job:
    return job_view(await service.get_job(who, job_id))


@router.put("/jobs/{job_id}", summary="Replace a job", operation_id="replaceJob", responses=_JOB)
async def replace_job(job_id: JobId, body: NewJob, who: Caller, service: Service) -> Job:
    changes = body.model_dump(exclude_none=True)
    changes.setdefault("timezone", "UTC")
    return await service.update_job(who, job_id, changes)


@router.patch(
    "/jobs/{job_id}",
    summary="Change some fields of a job",
    operation_id="updateJob",
    responses=_JOB,
)
async def patch_job(
    job_id: JobId,
    body: Annotated[JobPatch, Body(openapi_examples=examples.JOB_PATCH)],
    who: Caller,
    service: Service,
) -> Job:
    changes = body.model_dump(exclude_unset=True)
    if not changes:
        raise BadRequestError("give at least one field to change", "body")
    return await service.update_job(who, job_id, changes)


@router.delete(
    "/jobs/{job_id}",
    status_code=204,
    summary="Delete a job",
    operation_id="deleteJob",
    responses={204: {"description": "Deleted."}},
)
async def delete_job(job_id: JobId, who: Caller, service: Service) -> Response:
    await service.delete_job(who, job_id)
    return Response(status_code=204)
