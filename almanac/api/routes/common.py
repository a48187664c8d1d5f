"""What every route documents (the error responses, with the one error body and its
headers), the ``Location`` of what a route created or started, and the route class that
caps a request body."""

from __future__ import annotations

from collections.abc import Callable, Coroutine, Iterable
from typing import Annotated, Any, Final
from urllib.parse import urlencode

from fastapi import APIRouter, Header, Query, Request, Response
from fastapi.encoders import jsonable_encoder
from fastapi.routing import APIRoute
from starlette.types import Message

from almanac.api.errors import UPSTREAM_RETRY_AFTER, PayloadTooLargeError
from almanac.api.routes.examples import Examples, error_body, json_examples
from almanac.api.schemas import ErrorBody, ListMeta

__all__ = [
    "ERRORS",
    "LOCATION",
    "RETRY_AFTER",
    "IdempotencyKey",
    "Limit",
    "Offset",
    "Responses",
    "body_limited",
    "error_response",
    "location",
    "page_meta",
    "restore_example_nulls",
    "success",
]

Responses = dict[int | str, dict[str, Any]]
#: The ``Idempotency-Key`` header of run-now and job creation.
IdempotencyKey = Annotated[
    str | None,
    Header(
        alias="Idempotency-Key",
        min_length=1,
        max_length=253,
        pattern=r"^[\x21-\x7e]+$",
        description="Same key, same result: a request sent again (its answer was lost) "
        "makes nothing new and answers what the first one made.",
    ),
]

_WHY: Final = {
    400: "Invalid request: body, query, or a malformed identity header.",
    401: "Missing identity header.",
    403: "The identity may not act on this organisation.",
    404: "No such job, run or template in the caller's organisation.",
    409: "Conflict: already in that state, or changed concurrently.",
    413: "The request body is over the route's limit.",
    429: "A per-organisation or per-user limit is reached; the message says when to go on.",
    503: "Kubernetes, Postgres or Kafka did not answer; retry after `Retry-After` seconds.",
}
#: The ``Location`` header of a 201 or 202: the URL path of what was created or started.
LOCATION: Final[dict[str, Any]] = {
    "Location": {
        "description": "Path of the created resource, or of where to follow what was started.",
        "schema": {"type": "string"},
    }
}
RETRY_AFTER: Final[dict[str, Any]] = {
    "Retry-After": {
        "description": f"Seconds to wait before retrying (usually {UPSTREAM_RETRY_AFTER}).",
        "schema": {"type": "integer", "minimum": 0},
    }
}


def error_response(status: int) -> dict[str, Any]:
    """The documented error answer ``status``: the error body, an example and, on a 503,
    ``Retry-After``."""
    response: dict[str, Any] = {
        "model": ErrorBody,
        "description": _WHY[status],
        "content": {"application/json": {"example": error_body(status)}},
    }
    if status == 503:
        response["headers"] = RETRY_AFTER
    return response


#: The errors every route can answer (413 and 429 only where a route can produce them).
ERRORS: Final[Responses] = {code: error_response(code) for code in (400, 401, 403, 404, 409, 503)}


def success(
    status: int, description: str, examples: Examples, *, headers: dict[str, Any] | None = None
) -> Responses:
    """The documented success answer: its description, named examples and headers."""
    response: dict[str, Any] = {"description": description, "content": json_examples(examples)}
    if headers:
        response["headers"] = headers
    return {status: response}


def location(request: Request, route_name: str, **params: str) -> str:
    """The path of route ``route_name`` with ``params`` under the facade's prefix (and the
    ASGI root path, if a proxy mounts the facade under one). A path, not an absolute URL:
    behind a gateway the facade does not know the host callers used."""
    path = request.app.url_path_for(route_name, **params)
    return str(request.scope.get("root_path", "")) + str(path)


Limit = Annotated[int, Query(ge=1, le=500, description="Page size (default 50, max 500).")]
Offset = Annotated[int, Query(ge=0, le=1_000_000, description="Items to skip.")]


def page_meta(request: Request, count: int, limit: int, offset: int) -> ListMeta:
    """A list's page metadata with the links a client follows instead of doing offset
    arithmetic: the request's own path and query with ``offset`` moved."""

    def page(at: int) -> str:
        query = request.query_params.multi_items()
        kept = [(k, v) for k, v in query if k != "offset"] + [("offset", str(at))]
        return f"{request.url.path}?{urlencode(kept)}"

    return ListMeta(
        count=count,
        limit=limit,
        offset=offset,
        next=page(offset + limit) if offset + limit < count else None,
        previous=page(max(0, offset - limit)) if offset > 0 else None,
    )


def restore_example_nulls(document: dict[str, Any], routers: Iterable[APIRouter]) -> None:
    """Put the routes' examples back into ``document`` as written.

    FastAPI encodes the whole document without ``None`` values, inside examples too: the
    seed's ``"last_run": null`` would vanish and the example would then lack a required
    field of its own schema (and a generated client would be shown a body it refuses).
    """
    operations = {
        operation["operationId"]: operation
        for item in document.get("paths", {}).values()
        for operation in item.values()
        if isinstance(operation, dict) and "operationId" in operation
    }
    for router in routers:
        for route in router.routes:
            if not isinstance(route, APIRoute) or route.operation_id not in operations:
                continue
            operation = operations[route.operation_id]
            body = route.body_field and getattr(
                route.body_field.field_info, "openapi_examples", None
            )
            if body:
                content = operation["requestBody"]["content"]["application/json"]
                content["examples"] = jsonable_encoder(body)
            for status, response in route.responses.items():
                written = response.get("content", {}).get("application/json", {})
                for key in ("example", "examples"):
                    if key in written:
                        documented = operation["responses"][str(status)]["content"]
                        documented["application/json"][key] = jsonable_encoder(written[key])


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
