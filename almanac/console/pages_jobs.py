"""The jobs list, a job's page (runs from the history, the operator's conditions, the
job's Kubernetes Events), a run's page and a job's YAML export."""

from __future__ import annotations

import uuid
from typing import Any, Final

import psycopg
from fastapi import APIRouter, Request
from psycopg_pool import PoolTimeout
from starlette.responses import PlainTextResponse, Response

from almanac.api.errors import ApiError, BadRequestError
from almanac.api.kubeevents import KubernetesEventList
from almanac.api.mapping import job_view, run_view, type_for
from almanac.api.runlogs import run_logs
from almanac.api.runreads import RunWindow
from almanac.console.jobform import editor_schema, export_yaml
from almanac.console.views import (
    FieldErrors,
    ListQuery,
    Pages,
    can_change,
    editor_errors,
    field_errors,
    job_row,
    last_result,
    when,
)
from almanac.console.web import Page, redirect, render
from almanac.console.words import describe_schedule
from almanac.core.vocabulary import ANNOTATION_SUSPEND_REASON
from almanac.history import HistoryUnavailableError

__all__ = ["job_page", "router"]

router = APIRouter()
#: Runs listed on a job's page.
RUNS_SHOWN: Final = 20
#: Kubernetes Events listed on a job's page (the newest; REST lists up to 200).
EVENTS_SHOWN: Final = 20
_HISTORY_DOWN: Final = (HistoryUnavailableError, psycopg.OperationalError, PoolTimeout)


@router.get("/")
async def home(request: Request) -> Response:
    return redirect(request, "/jobs")


@router.get("/jobs")
async def jobs(request: Request) -> Response:
    page = Page.of(request)
    query = ListQuery.parse(request.query_params)
    found = await page.service.list_job_objects(page.who, query.job_filter())
    pages = Pages(query.page, len(found))
    shown = found[pages.offset : pages.offset + pages.size]
    templates = sorted(
        {type_for(str((o.get("spec") or {}).get("template", ""))) for o in found}
        | ({query.template} if query.template else set())
    )
    return render(
        request,
        "jobs.html",
        page=page,
        rows=[job_row(job_view(obj), obj) for obj in shown],
        query=query,
        pages=pages,
        templates=templates,
        can_create=page.service.roles.role_of(page.who).value != "reader",
    )


async def _runs(page: Page, job_id: str, offset: int) -> tuple[list[Any], int, str | None]:
    """A page of the job's runs, or the reason there are none to show (history down)."""
    try:
        records, total = await page.service.runs.list_runs(
            page.who, job_id, statuses=(), window=RunWindow(), limit=RUNS_SHOWN, offset=offset
        )
    except _HISTORY_DOWN:
        return [], 0, "The run history (Postgres) is not answering; runs show when it is back."
    except ApiError as exc:
        if exc.status != 503:
            raise
        return [], 0, exc.message
    return [run_view(r) for r in records], total, None


async def _events(page: Page, job_id: str) -> tuple[KubernetesEventList | None, str | None]:
    """The job's newest Events, or why they cannot be shown (the API server refused the
    facade: the rest of the page does not depend on them)."""
    try:
        return await page.service.job_events(page.who, job_id, EVENTS_SHOWN), None
    except ApiError as exc:
        if exc.status != 503:
            raise
        return None, f"The job's Events cannot be read right now: {exc.message}"


async def _run_schema(page: Page, obj: dict[str, Any]) -> Any:
    """The schema the run-now form draws (the job's template's ``paramsSchema``), or None:
    the template has none, or the namespace cannot use it any more (the text box stays)."""
    template = str((obj.get("spec") or {}).get("template", ""))
    try:
        found = await page.service.catalog.get(obj["metadata"]["namespace"], template)
    except ApiError:
        return None
    return editor_schema(found.params_schema) if found.params_schema else None


@router.get("/jobs/{job_id}")
async def job(request: Request, job_id: str) -> Response:
    return await job_page(request, Page.of(request), job_id)


async def job_page(
    request: Request,
    page: Page,
    job_id: str,
    *,
    run_error: BadRequestError | None = None,
    run_payload: str = "",
) -> Response:
    """A job's page; after a refused run-now (``run_error``), with the refusal on the
    run-now form's parameters and what was typed (``run_payload``) kept."""
    obj = await page.service.get_job(page.who, job_id)
    view = job_view(obj)
    offset = request.query_params.get("runs_from", "0")
    start = int(offset) if offset.isdigit() else 0
    runs, total, history_note = await _runs(page, job_id, start)
    try:
        upcoming = [when(slot) for slot in await page.service.next_runs(page.who, job_id, 5)]
    except ApiError:
        upcoming = []
    conditions = (obj.get("status") or {}).get("conditions") or []
    events, events_note = await _events(page, job_id)
    editable = can_change(page.service.roles, page.who, obj)
    return render(
        request,
        "job.html",
        page=page,
        job=view,
        obj=obj,
        words=describe_schedule(view.schedule, view.timezone),
        last_result=last_result(obj),
        runs=runs,
        runs_total=total,
        runs_from=start,
        runs_shown=RUNS_SHOWN,
        history_note=history_note,
        upcoming=upcoming,
        conditions=conditions,
        events=events,
        events_note=events_note,
        suspend_reason=(obj["metadata"].get("annotations") or {}).get(ANNOTATION_SUSPEND_REASON),
        editable=editable,
        when=when,
        run_key=uuid.uuid4().hex,
        run_schema=await _run_schema(page, obj) if editable else None,
        run_payload=run_payload,
        run_errors=field_errors(run_error, ("payload",)) if run_error else FieldErrors(),
        run_payload_errors=editor_errors(run_error),
        status=400 if run_error else 200,
    )


@router.get("/jobs/{job_id}/runs/{run_id}")
async def run(request: Request, job_id: str, run_id: str) -> Response:
    page = Page.of(request)
    obj = await page.service.get_job(page.who, job_id)
    record = await page.service.runs.get_run(page.who, job_id, run_id)
    logs = await run_logs(page.service, record)
    return render(
        request,
        "run.html",
        page=page,
        job=job_view(obj),
        run=run_view(record),
        logs=logs,
        editable=can_change(page.service.roles, page.who, obj),
        when=when,
    )


@router.get("/jobs/{job_id}/export")
async def export(request: Request, job_id: str) -> Response:
    page = Page.of(request)
    view = job_view(await page.service.get_job(page.who, job_id))
    filename = f"{view.resource_name}.yaml"
    return PlainTextResponse(
        export_yaml(view),
        media_type="application/yaml",
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )
