"""Dead letters: runs that failed with no retry left and trigger events refused for good,
listed for the caller's organisation and requeued (docs/rest-api.md, "Dead letters").

A requeue answers 202 with the new run's id and, as run-now and retry do, ``Location`` at
that run (``getExecution``): 404 until the operator has launched it.
"""

from __future__ import annotations

from typing import Annotated, Final, Literal

from fastapi import APIRouter, Path, Query, Request, Response
from pydantic import AwareDatetime

from almanac.api.dependencies import Caller, Service
from almanac.api.letterschemas import (
    DeadLetterList,
    DeadLetterView,
    RequeueAccepted,
    letter_view,
)
from almanac.api.routes import letterexamples as examples
from almanac.api.routes.common import (
    ERRORS,
    LOCATION,
    Limit,
    Offset,
    error_response,
    location,
    page_meta,
    success,
)
from almanac.history.deadletters import LetterKind

__all__ = ["router"]

router = APIRouter(tags=["dead-letters"], responses=ERRORS)
LetterId = Annotated[int, Path(ge=1, le=2**63 - 1, description="Dead letter id.")]
_REQUEUE: Final = (
    "Accepted: the dead run runs once more (one more attempt of its slot, with the job's "
    "current spec). Requeueing it again answers the same run. `Location` is the new run "
    "(`getExecution`): 404 until the operator has launched it."
)
_EVENT_CONFLICT: Final = "An event's letter: publish the event again (`POST /events`)."


@router.get(
    "/dead-letters",
    summary="List the organisation's dead letters (newest first)",
    operation_id="listDeadLetters",
    responses=success(200, "One page of dead letters.", examples.DEAD_LETTER_LIST),
)
async def list_dead_letters(
    *,
    who: Caller,
    service: Service,
    request: Request,
    job_id: Annotated[
        str | None, Query(max_length=253, description="Only the letters of this job.")
    ] = None,
    kind: Annotated[
        Literal["run", "event"] | None, Query(description="Only runs, or only events.")
    ] = None,
    since: Annotated[
        AwareDatetime | None, Query(description="Only letters parked at or after (RFC 3339).")
    ] = None,
    until: Annotated[
        AwareDatetime | None, Query(description="Only letters parked at or before (RFC 3339).")
    ] = None,
    limit: Limit = 50,
    offset: Offset = 0,
) -> DeadLetterList:
    letters, total = await service.letters.list_letters(
        who,
        job_id=job_id,
        kind=LetterKind(kind) if kind is not None else None,
        since=since,
        until=until,
        limit=limit,
        offset=offset,
    )
    meta = page_meta(request, total, limit, offset)
    return DeadLetterList(data=[letter_view(x) for x in letters], meta=meta)


@router.get(
    "/dead-letters/{id}",
    summary="Get one dead letter",
    operation_id="getDeadLetter",
    responses=success(200, "The dead letter.", examples.DEAD_LETTER),
)
async def get_dead_letter(id: LetterId, who: Caller, service: Service) -> DeadLetterView:
    return letter_view(await service.letters.get_letter(who, id))


@router.post(
    "/dead-letters/{id}/requeue",
    status_code=202,
    summary="Requeue a dead run",
    operation_id="requeueDeadLetter",
    responses=success(202, _REQUEUE, examples.REQUEUE_ACCEPTED, headers=LOCATION)
    | {409: error_response(409) | {"description": _EVENT_CONFLICT}},
)
async def requeue_dead_letter(
    id: LetterId,
    who: Caller,
    service: Service,
    request: Request,
    response: Response,
) -> RequeueAccepted:
    letter, job_id, run = await service.letters.requeue(who, id)
    response.headers["Location"] = location(request, "get_execution", run_id=run)
    return RequeueAccepted(id=id, job_id=job_id, run_id=letter.subject, requeued_run_id=run)
