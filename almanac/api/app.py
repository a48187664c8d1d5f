"""``create_app()``: the facade's FastAPI application, its lifespan and its error edge.

Every error leaves through the handlers here, as ``{"errors": [{field, message, code}]}``:
request validation is a 400 (never FastAPI's default 422), unknown routes a 404, and an
unexpected exception a logged 500 that says nothing about internals. Every 503 leaves with
``Retry-After`` (the error's own, else :data:`UPSTREAM_RETRY_AFTER`), whichever handler
made it.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from typing import Any, Final

import psycopg
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.openapi.utils import get_openapi
from fastapi.responses import JSONResponse
from psycopg_pool import PoolTimeout
from starlette.exceptions import HTTPException

from almanac.api.context import ProcessContext
from almanac.api.errors import (
    UPSTREAM_RETRY_AFTER,
    ApiError,
    BadRequestError,
    Problem,
    UpstreamError,
    bad_request_from,
)
from almanac.api.metrics import ApiMetrics
from almanac.api.observe import ObservedRequests
from almanac.api.routes import (
    control,
    deadletters,
    events,
    health,
    jobs,
    kubeevents,
    notifications,
    queue,
    runs,
    status,
    templates,
)
from almanac.api.routes.common import restore_example_nulls
from almanac.api.settings import ApiSettings
from almanac.core.errors import AlmanacError
from almanac.core.resource import format_location
from almanac.history import HistoryNotConfiguredError, HistoryUnavailableError

__all__ = ["BASE_PATH", "create_app"]

BASE_PATH: Final = "/api/scheduler/v1"
log = logging.getLogger("almanac.api")
_BRANCH_TAGS: Final = frozenset({"str", "int", "float", "bool", "list", "dict", "function-after"})
_HTTP_CODES: Final = {404: "not_found", 405: "method_not_allowed", 401: "unauthenticated"}
_API_ROUTES: Final = (
    jobs,
    control,
    notifications,
    runs,
    kubeevents,
    queue,
    deadletters,
    templates,
    events,
    status,
)


def _headers(status: int, headers: Mapping[str, str] | None) -> dict[str, str]:
    """``headers`` plus ``Retry-After`` on a 503 that lacks one: a client told "unavailable"
    must also be told when to come back, or it retries at once and adds to the outage."""
    found = dict(headers or {})
    if status == 503 and not any(k.lower() == "retry-after" for k in found):
        found["Retry-After"] = str(UPSTREAM_RETRY_AFTER)
    return found


def _error(error: ApiError) -> JSONResponse:
    return JSONResponse(
        error.body(), status_code=error.status, headers=_headers(error.status, error.headers())
    )


def _validation_problems(exc: RequestValidationError) -> list[Problem]:
    problems: dict[str, Problem] = {}
    for item in exc.errors():
        loc = tuple(
            p
            for p in item.get("loc", ())
            if not (isinstance(p, str) and (p in _BRANCH_TAGS or "[" in p))
        )
        where, rest = (loc[0], loc[1:]) if loc else ("body", ())
        message = str(item.get("msg", "invalid"))
        if item.get("type") == "json_invalid":  # the location is a character offset
            where, rest = "body", ()
            message = f"is not valid JSON ({message} at character {loc[-1] if loc else 0})"
        field = format_location(rest) if rest else str(where)
        problems.setdefault(field, Problem(field, message, "bad_request"))
    return list(problems.values()) or [Problem("body", "invalid request", "bad_request")]


def _install_handlers(app: FastAPI) -> None:
    @app.exception_handler(ApiError)
    async def api_error(_: Request, exc: ApiError) -> JSONResponse:
        return _error(exc)

    @app.exception_handler(AlmanacError)
    async def core_error(_: Request, exc: AlmanacError) -> JSONResponse:
        return _error(bad_request_from(exc))

    @app.exception_handler(HistoryUnavailableError)
    @app.exception_handler(psycopg.OperationalError)
    @app.exception_handler(PoolTimeout)
    async def history_down(request: Request, exc: Exception) -> JSONResponse:
        if isinstance(exc, HistoryNotConfiguredError):
            return _error(UpstreamError(exc.message, "history"))
        log.warning("run history unavailable", extra={"path": request.url.path, "error": str(exc)})
        return _error(
            UpstreamError(
                "the run history (Postgres) is not answering; job definitions still work, "
                "retry history reads later",
                "history",
            )
        )

    @app.exception_handler(RequestValidationError)
    async def invalid_request(_: Request, exc: RequestValidationError) -> JSONResponse:
        problems = _validation_problems(exc)
        return _error(BadRequestError(problems[0].message, problems[0].field or "", problems))

    @app.exception_handler(HTTPException)
    async def http_error(_: Request, exc: HTTPException) -> JSONResponse:
        code = _HTTP_CODES.get(exc.status_code, "http_error")
        body = {"errors": [{"field": "", "message": str(exc.detail), "code": code}]}
        headers = _headers(exc.status_code, exc.headers)
        return JSONResponse(body, status_code=exc.status_code, headers=headers)

    @app.exception_handler(Exception)
    async def unexpected(request: Request, exc: Exception) -> JSONResponse:
        log.error("unexpected error", exc_info=exc, extra={"path": request.url.path})
        body = {"errors": [{"field": "", "message": "internal error", "code": "internal"}]}
        return JSONResponse(body, status_code=500)


def _openapi(app: FastAPI) -> dict[str, Any]:
    """The generated document without FastAPI's 422 answers (this API says 400), with the
    examples' nulls that FastAPI drops put back."""
    if app.openapi_schema is None:
        schema = get_openapi(
            title=app.title, version=app.version, description=app.description, routes=app.routes
        )
        for path in schema.get("paths", {}).values():
            for operation in path.values():
                operation.get("responses", {}).pop("422", None)
        for name in ("HTTPValidationError", "ValidationError"):
            schema.get("components", {}).get("schemas", {}).pop(name, None)
        restore_example_nulls(schema, (module.router for module in _API_ROUTES))
        app.openapi_schema = schema
    return app.openapi_schema


def create_app(settings: ApiSettings | None = None) -> FastAPI:
    """A fresh application; clients are created in its lifespan, from ``settings``."""
    settings = settings or ApiSettings.from_env()
    metrics = ApiMetrics()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        app.state.context = await ProcessContext.from_settings(settings, metrics)
        try:
            yield
        finally:
            await app.state.context.aclose()

    app = FastAPI(
        title="Almanac scheduler API",
        version="1",
        description="The Insights scheduler API over Almanac ScheduledJobs, one namespace "
        "per organisation (from the x-rh-identity header).",
        openapi_url=f"{BASE_PATH}/openapi.json",
        docs_url=f"{BASE_PATH}/docs",
        redoc_url=None,
        lifespan=lifespan,
    )
    app.state.metrics = metrics
    app.state.settings = settings
    for module in _API_ROUTES:
        app.include_router(module.router, prefix=BASE_PATH)
    app.include_router(health.router)
    # Imported here: the console is built on this package's service (an import cycle).
    from almanac.console.app import CONSOLE_PATH, create_console  # noqa: PLC0415

    app.mount(CONSOLE_PATH, create_console(app, settings))
    _install_handlers(app)
    app.add_middleware(ObservedRequests, metrics=metrics)
    app.openapi = lambda: _openapi(app)  # type: ignore[method-assign]
    return app
