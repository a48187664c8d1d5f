"""Create, edit and clone a job (the template's JSON Schema form and the schedule editor
with its live preview), and import one from YAML.

A form the service refuses comes back as typed, with each message next to its field (the
problem's field names the input, as REST names the body key) and a summary on top.
"""

from __future__ import annotations

import uuid
from typing import Any
from zoneinfo import available_timezones

from fastapi import APIRouter, Request
from starlette.responses import JSONResponse, Response

from almanac.api.errors import BadRequestError
from almanac.api.mapping import job_view
from almanac.api.schemas import Template
from almanac.console.jobform import FORM_FIELDS, JobForm, editor_schema, import_yaml
from almanac.console.preview import preview
from almanac.console.scheduleform import ScheduleForm
from almanac.console.views import FieldErrors, editor_errors, field_errors
from almanac.console.web import Page, read_form, redirect, render

__all__ = ["router"]

router = APIRouter()
_ZONES = sorted(available_timezones())


async def _templates(page: Page) -> list[Template]:
    namespace = await page.service.namespace(page.who)
    found: list[Template] = await page.service.catalog.list(namespace)
    return found


async def _form_page(
    request: Request,
    page: Page,
    form: JobForm,
    *,
    action: str,
    title: str,
    job_id: str | None = None,
    error: BadRequestError | None = None,
) -> Response:
    templates = await _templates(page)
    chosen = form.type or (templates[0].type if templates else "")
    schema: dict[str, Any] | None = next(
        (t.params_schema for t in templates if chosen in (t.type, t.name)), None
    )
    errors = field_errors(error, FORM_FIELDS) if error else FieldErrors()
    return render(
        request,
        "edit.html",
        page=page,
        form=form,
        chosen=chosen,
        templates=templates,
        schema=editor_schema(schema),
        errors=errors,
        payload_errors=editor_errors(error),
        action=action,
        title=title,
        job_id=job_id,
        zones=_ZONES,
        idempotency_key=uuid.uuid4().hex,
        status=400 if error else 200,
    )


@router.get("/jobs/new")
async def new(request: Request) -> Response:
    page = Page.of(request)
    page.service.roles.check_create(page.who)
    clone = request.query_params.get("clone")
    if clone:
        form = JobForm.from_job(job_view(await page.service.get_job(page.who, clone)), copy=True)
    else:
        form = JobForm()
    chosen = request.query_params.get("template")
    if chosen:
        form = JobForm(**{**form.__dict__, "type": chosen})
    return await _form_page(request, page, form, action="/jobs/new", title="New job")


@router.post("/jobs/new")
async def create(request: Request) -> Response:
    page = Page.of(request)
    fields = await read_form(request)
    page.service.roles.check_create(page.who)  # before the form: a viewer learns only that
    form = JobForm.from_fields(fields)
    try:
        changes = form.create_changes()
        key = fields.get("idempotency_key", "").strip()[:253] or None
        job = await page.service.create_job(page.who, changes, key)
    except BadRequestError as exc:
        return await _form_page(request, page, form, action="/jobs/new", title="New job", error=exc)
    return redirect(request, f"/jobs/{job.id}", "created")


@router.get("/jobs/{job_id}/edit")
async def edit(request: Request, job_id: str) -> Response:
    page = Page.of(request)
    obj = await page.service.get_job(page.who, job_id)
    page.service.roles.check_change(page.who, obj, "change")
    view = job_view(obj)
    form = JobForm.from_job(view)
    chosen = request.query_params.get("template")
    if chosen:
        form = JobForm(**{**form.__dict__, "type": chosen})
    return await _form_page(
        request, page, form, action=f"/jobs/{job_id}/edit", title=f"Edit {view.name}", job_id=job_id
    )


@router.post("/jobs/{job_id}/edit")
async def save(request: Request, job_id: str) -> Response:
    page = Page.of(request)
    fields = await read_form(request)
    obj = await page.service.get_job(page.who, job_id)
    page.service.roles.check_change(page.who, obj, "change")  # before the form, as above
    form = JobForm.from_fields(fields)
    try:
        await page.service.update_job(page.who, job_id, form.edit_changes())
    except BadRequestError as exc:
        return await _form_page(
            request,
            page,
            form,
            action=f"/jobs/{job_id}/edit",
            title=f"Edit {form.name}",
            job_id=job_id,
            error=exc,
        )
    return redirect(request, f"/jobs/{job_id}", "saved")


@router.get("/preview")
async def schedule_preview(request: Request) -> Response:
    """The next slots of the schedule the editor holds (what the page's script fetches)."""
    page = Page.of(request)
    form = ScheduleForm.from_fields(request.query_params)
    try:
        spec = form.spec_schedule()
    except BadRequestError as exc:
        problem = exc.problems[0]
        return JSONResponse({"error": {"field": problem.field, "message": problem.message}})
    return JSONResponse(preview(spec, page.service.clock()).as_json())


@router.get("/import")
async def import_form(request: Request) -> Response:
    page = Page.of(request)
    page.service.roles.check_create(page.who)
    return render(request, "import.html", page=page, text="", errors=FieldErrors())


@router.post("/import")
async def import_job(request: Request) -> Response:
    page = Page.of(request)
    fields = await read_form(request)
    page.service.roles.check_create(page.who)
    text = fields.get("yaml", "")
    try:
        job = await page.service.create_job(page.who, import_yaml(text))
    except BadRequestError as exc:
        errors = FieldErrors()
        for problem in exc.problems:
            errors.setdefault("yaml", []).append(
                f"{problem.field}: {problem.message}"
                if problem.field not in (None, "", "yaml")
                else problem.message
            )
        return render(request, "import.html", page=page, text=text, errors=errors, status=400)
    return redirect(request, f"/jobs/{job.id}", "imported")
