"""FastAPI dependencies: the caller's identity, the process's service and event publisher.

The identity is believed only from the gateway: with ``ALMANAC_API_GATEWAY_SECRET`` set, a
request without the gateway's secret is a 401 before its identity header is read.

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
from almanac.api.gateway import GATEWAY_HEADER, check_gateway
from almanac.api.identity import HEADER, Identity, parse_identity, single_header
from almanac.api.service import JobService
from almanac.api.settings import ApiSettings

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


async def _caller(request: Request, _: Annotated[str | None, Security(_IDENTITY)]) -> Identity:
    """The gateway's proof first (when configured), then exactly one identity header; the
    identity is kept on the request for the access log."""
    settings: ApiSettings = request.app.state.settings
    check_gateway(settings.gateway_secret, request.headers.get(GATEWAY_HEADER))
    who = parse_identity(single_header(request.headers.getlist(HEADER)))
    request.state.identity = who
    return who


async def _service(context: Annotated[ProcessContext, Depends(_context)]) -> JobService:
    return context.service


async def _events(context: Annotated[ProcessContext, Depends(_context)]) -> TriggerPublisher:
    return context.events


Context = Annotated[ProcessContext, Depends(_context)]
Caller = Annotated[Identity, Depends(_caller)]
Service = Annotated[JobService, Depends(_service)]
Events = Annotated[TriggerPublisher, Depends(_events)]
