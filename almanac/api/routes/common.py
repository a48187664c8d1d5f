"""What every route documents (the error responses, with the one error body), and the
route class that caps a request body."""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from typing import Annotated, Any, Final

from fastapi import Query, Request, Response
from fastapi.routing import APIRoute
from starlette.types import Message

from almanac.api.errors import PayloadTooLargeError
from almanac.api.schemas import ErrorBody

__all__ = ["ERRORS", "Limit", "Offset", "body_limited"]

_WHY: Final = {
    400: "Invalid request: body, query, or a malformed identity header.",
    401: "Missing identity header.",
    403: "The identity may not act on this organisation.",
    404: "No such job, run or template in the caller's organisation.",
    409: "Conflict: already in that state, or changed concurrently.",
    503: "Kubernetes, Postgres or Kafka did not answer; retry later.",
}
ERRORS: Final[dict[int | str, dict[str, Any]]] = {
    code: {"model": ErrorBody, "description": why} for code, why in _WHY.items()
}

Limit = Annotated[int, Query(ge=1, le=500, description="Page size (default 50, max 500).")]
Offset = Annotated[int, Query(ge=0, le=1_000_000, description="Items to skip.")]


def _too_large(limit: int) -> PayloadTooLargeError:
    return PayloadTooLargeError(
        f"is larger than {limit // 1024} KiB ({limit} bytes); send a smaller body", "body"
    )


async def _read_capped(request: Request, limit: int) -> bytes:
    """The body, refused as soon as it is known to exceed ``limit`` (declared or streamed)."""
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit:
        raise _too_large(limit)
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > limit:
            raise _too_large(limit)
    return bytes(body)


def _replaying(request: Request, body: bytes) -> Request:
    """A request whose stream yields ``body`` again (the original stream is consumed)."""
    sent = False

    async def receive() -> Message:
        nonlocal sent
        if sent:
            return await request.receive()
        sent = True
        return {"type": "http.request", "body": body, "more_body": False}

    return Request(request.scope, receive)


def body_limited(limit: int) -> type[APIRoute]:
    """A route class refusing bodies over ``limit`` bytes with a 413 in the facade's error
    shape, before anything parses them (FastAPI's own ``max_body_size`` answers plain text
    when Content-Length is over the limit)."""

    class BodyLimitedRoute(APIRoute):
        def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
            handler = super().get_route_handler()

            async def limited(request: Request) -> Response:
                return await handler(_replaying(request, await _read_capped(request, limit)))

            return limited

    return BodyLimitedRoute
