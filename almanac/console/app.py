"""``create_console()``: the web console, a small application the facade mounts at ``/console``.

It is its own ASGI application so its answers are HTML pages (the facade's JSON error
handlers stay REST's), its security headers apply to it alone, and it stays out of the
OpenAPI document. It holds no clients: each request reaches the facade's
:class:`~almanac.api.service.JobService` through the parent application's context, the
one the REST routes use.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Final

import psycopg
from fastapi import FastAPI, Request
from psycopg_pool import PoolTimeout
from starlette.exceptions import HTTPException
from starlette.responses import Response
from starlette.staticfiles import StaticFiles

from almanac.api.errors import ApiError, UnauthenticatedError
from almanac.api.service import JobService
from almanac.api.settings import ApiSettings
from almanac.console import pages_actions, pages_calendar, pages_edit, pages_jobs, pages_signin
from almanac.console.security import secure_headers
from almanac.console.web import redirect, render
from almanac.history import HistoryUnavailableError

__all__ = ["CONSOLE_PATH", "VENDOR_FILES", "create_console", "missing_assets"]

CONSOLE_PATH: Final = "/console"
STATIC: Final = Path(__file__).parent / "static"
#: Files ``hack/console/assets`` vendors from npm (``console/package-lock.json``).
VENDOR_FILES: Final = ("vendor/jsoneditor.js",)
log = logging.getLogger("almanac.console")


def missing_assets(static: Path = STATIC) -> list[str]:
    """Vendored files that are not there (the checkout skipped ``make install``)."""
    return [name for name in VENDOR_FILES if not (static / name).is_file()]


def _install_handlers(console: FastAPI) -> None:
    @console.exception_handler(UnauthenticatedError)
    async def unauthenticated(request: Request, exc: UnauthenticatedError) -> Response:
        if request.app.state.dev_login and request.method == "GET":
            return redirect(request, "/login", next=request.url.path)
        return render(
            request, "error.html", status=401, title="Not signed in", problems=exc.problems
        )

    @console.exception_handler(ApiError)
    async def refused(request: Request, exc: ApiError) -> Response:
        return render(
            request, "error.html", status=exc.status, title="Refused", problems=exc.problems
        )

    @console.exception_handler(HistoryUnavailableError)
    @console.exception_handler(psycopg.OperationalError)
    @console.exception_handler(PoolTimeout)
    async def history_down(request: Request, exc: Exception) -> Response:
        log.warning("run history unavailable", extra={"path": request.url.path, "error": str(exc)})
        message = "the run history (Postgres) is not answering; try again in a moment"
        return render(
            request, "error.html", status=503, title="History unavailable", message=message
        )

    @console.exception_handler(HTTPException)
    async def http_error(request: Request, exc: HTTPException) -> Response:
        title = "Not found" if exc.status_code == 404 else "Error"
        return render(
            request, "error.html", status=exc.status_code, title=title, message=str(exc.detail)
        )

    @console.exception_handler(Exception)
    async def unexpected(request: Request, exc: Exception) -> Response:
        log.error("unexpected console error", exc_info=exc, extra={"path": request.url.path})
        return render(request, "error.html", status=500, title="Error", message="internal error")


def create_console(parent: FastAPI, settings: ApiSettings) -> FastAPI:
    """The console for ``parent`` (whose lifespan makes the service it calls)."""
    console = FastAPI(docs_url=None, redoc_url=None, openapi_url=None)
    console.state.settings = settings
    console.state.dev_login = settings.console_dev_login
    missing = missing_assets()
    console.state.assets_missing = missing
    if missing:
        log.warning(
            "console assets missing; the parameter form falls back to JSON text",
            extra={"missing": missing, "fix": "run hack/console/assets (make install does)"},
        )

    def service() -> JobService:
        context = getattr(parent.state, "context", None)
        if context is None:
            raise ApiError("the facade is starting; retry", "")
        found: JobService = context.service
        return found

    console.state.service = service
    console.middleware("http")(secure_headers)
    console.mount("/static", StaticFiles(directory=STATIC), name="static")
    for module in (pages_signin, pages_edit, pages_actions, pages_calendar, pages_jobs):
        console.include_router(module.router)
    _install_handlers(console)
    return console
