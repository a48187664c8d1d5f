"""FastAPI dependencies: the caller's identity, the process's service and event publisher.

They are ``async def`` although none awaits: FastAPI runs a plain ``def`` dependency in a
worker thread, and three thread hand-offs per request cost more than the work itself.
"""

from __future__ import annotations

from typing import Annotated, Final

from fastapi import Depends, Request, Security
from fastapi.security import APIKeyHeader

from almanac.api.context import ProcessContext
from almanac.api.errors import ApiError
from almanac.api.events import TriggerPublisher
from almanac.api.identity import HEADER, Identity, parse_identity
from almanac.api.service import JobService

__all__ = ["Caller", "Context", "Events", "Service"]

_IDENTITY: Final = APIKeyHeader(
    name=HEADER,
    auto_error=False,
    scheme_name="identity",
    description='Base64-encoded JSON {"identity": {"org_id": ..., "user": {...}}}.',
)


async def _context(request: Request) -> ProcessContext:
    context: ProcessContext | None = getattr(request.app.state, "context", None)
    if context is None:
        raise ApiError("the facade is starting; retry", "")
    return context


async def _caller(header: Annotated[str | None, Security(_IDENTITY)]) -> Identity:
    return parse_identity(header)


async def _service(context: Annotated[ProcessContext, Depends(_context)]) -> JobService:
    return context.service


async def _events(context: Annotated[ProcessContext, Depends(_context)]) -> TriggerPublisher:
    return context.events


Context = Annotated[ProcessContext, Depends(_context)]
Caller = Annotated[Identity, Depends(_caller)]
Service = Annotated[JobService, Depends(_service)]
Events = Annotated[TriggerPublisher, Depends(_events)]
