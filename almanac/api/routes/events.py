"""``/events``: publish an event that ScheduledJobs of the caller's organisation can trigger on."""

from __future__ import annotations

from typing import Annotated, Final

from fastapi import APIRouter, Body

from almanac.api.dependencies import Caller, Events, Service
from almanac.api.events import MAX_EVENT_BYTES
from almanac.api.routes import examples
from almanac.api.routes.common import ERRORS, Responses, body_limited, error_response, success
from almanac.api.schemas import EventAccepted, EventInput

__all__ = ["router"]

router = APIRouter(tags=["events"], responses=ERRORS, route_class=body_limited(MAX_EVENT_BYTES))
_TOO_LARGE: Final = {"description": f"The body is over {MAX_EVENT_BYTES // 1024} KiB."}
_RESPONSES: Final[Responses] = success(
    202, "Published (Kafka acknowledged it).", examples.EVENT_ACCEPTED
) | {413: error_response(413) | _TOO_LARGE}


@router.post(
    "/events",
    status_code=202,
    summary="Publish an event for event-triggered jobs",
    description="Puts the event on the trigger topic with the organisation's namespace as the "
    "`almanac-namespace` header, so only that organisation's ScheduledJobs can react to it. "
    "Answers once Kafka acknowledged it; a 503 means it was not published: retry with the "
    "same `id`.",
    operation_id="publishEvent",
    responses=_RESPONSES,
)
async def publish_event(
    body: Annotated[EventInput, Body(openapi_examples=examples.EVENT_INPUT)],
    who: Caller,
    service: Service,
    events: Events,
) -> EventAccepted:
    # Same tenancy rules as a read: another org's namespace or (with namespace creation
    # off) a missing one is a 403; a missing one is otherwise not created for an event.
    namespace = await service.namespace(who)
    message = await events.trigger(body, namespace=namespace, org_id=who.org_id)
    return EventAccepted(id=message.event_id, topic=message.topic, namespace=namespace)
