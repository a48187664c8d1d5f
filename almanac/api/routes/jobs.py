"""``/jobs``: the seed's CRUD over ScheduledJobs of the caller's organisation."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query, Response

from almanac.api.dependencies import Caller, Service
from almanac.api.errors import BadRequestError
from almanac.api.mapping import job_view
from almanac.api.routes.common import ERRORS, Limit, Offset
from almanac.api.schemas import Job, JobInput, JobList, JobPatch, JobStatus, ListMeta

__all__ = ["JobId", "router"]

router = APIRouter(tags=["jobs"], responses=ERRORS)
JobId = Annotated[str, Path(max_length=128, description="The job's id (metadata.uid).")]


@router.post("/jobs", status_code=201, summary="Create a job")
async def create_job(body: JobInput, who: Caller, service: Service) -> Job:
    return await service.create_job(who, body.model_dump(exclude_none=True))


@router.get("/jobs", summary="List the organisation's jobs")
async def list_jobs(
    *,
    who: Caller,
    service: Service,
    status: Annotated[JobStatus | None, Query(description="Only jobs in this status.")] = None,
    name: Annotated[str | None, Query(max_length=253, description="Exact display name.")] = None,
    limit: Limit = 50,
    offset: Offset = 0,
) -> JobList:
    jobs = await service.list_jobs(who, status=status, name=name)
    meta = ListMeta(count=len(jobs), limit=limit, offset=offset)
    return JobList(data=jobs[offset : offset + limit], meta=meta)


@router.get("/jobs/{job_id}", summary="Get a job")
async def get_job(job_id: JobId, who: Caller, service: Service) -> Job:
    return job_view(await service.get_job(who, job_id))


@router.put("/jobs/{job_id}", summary="Replace a job")
async def replace_job(job_id: JobId, body: JobInput, who: Caller, service: Service) -> Job:
    changes = body.model_dump(exclude_none=True)
    changes.setdefault("timezone", "UTC")
    return await service.update_job(who, job_id, changes)


@router.patch("/jobs/{job_id}", summary="Change some fields of a job")
async def patch_job(job_id: JobId, body: JobPatch, who: Caller, service: Service) -> Job:
    changes = body.model_dump(exclude_unset=True)
    if not changes:
        raise BadRequestError("give at least one field to change", "body")
    return await service.update_job(who, job_id, changes)


@router.delete("/jobs/{job_id}", status_code=204, summary="Delete a job")
async def delete_job(job_id: JobId, who: Caller, service: Service) -> Response:
    await service.delete_job(who, job_id)
    return Response(status_code=204)
