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
from almanac.api.jobfilter import JobFilter
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
    success,
)
from almanac.api.schemas import Job, JobInput, JobList, JobPatch, JobStatus, ListMeta

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
    sort: Annotated[
        Literal["created", "-created", "name", "-name"],
        Query(description="Order: created (default) or name; a leading '-' reverses it."),
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
        sort="name" if sort.endswith("name") else "created",
        descending=sort.startswith("-"),
    )
    jobs = await service.list_jobs(who, query)
    meta = ListMeta(count=len(jobs), limit=limit, offset=offset)
    return JobList(data=jobs[offset : offset + limit], meta=meta)


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
