"""A job's actions: run now (with parameters for this run, in the form generated from the
template's schema where it has one), pause with a note, resume, retry a finished run,
delete (after a confirmation page).

Each posts a CSRF-checked form and calls the service method the REST route calls, so a
viewer's post is refused by the same role check even if they forge the form; success is a
303 back to the job's page with a notice.
"""

from __future__ import annotations

import json
import uuid
from typing import Final

from fastapi import APIRouter, Request
from starlette.responses import Response

from almanac.api.errors import BadRequestError
from almanac.api.mapping import job_view
from almanac.console.pages_jobs import job_page
from almanac.console.views import can_change
from almanac.console.web import Page, read_form, redirect, render

__all__ = ["router"]

router = APIRouter()
_MAX_NOTE: Final = 1024


def _run_payload(text: str) -> dict[str, object] | None:
    """The run-now form's parameters (JSON object text; empty or ``{}``: the job's own)."""
    if not text.strip():
        return None
    try:
        value = json.loads(text)
    except json.JSONDecodeError as exc:
        raise BadRequestError(
            f"is not valid JSON ({exc.msg}); give a JSON object or leave it empty", "payload"
        ) from None
    if not isinstance(value, dict):
        raise BadRequestError("must be a JSON object of parameters for this run", "payload")
    return value or None


@router.post("/jobs/{job_id}/run")
async def run_now(request: Request, job_id: str) -> Response:
    """Ask for a run; refused parameters come back on the job's page, next to the form's
    parameters (the generated form's field, or the text box), as typed."""
    page = Page.of(request)
    fields = await read_form(request)
    obj = await page.service.get_job(page.who, job_id)
    page.service.roles.check_change(page.who, obj, "run")  # before the form, as edits do
    # The form's key: a double click or a re-sent form asks for one run, as REST's
    # Idempotency-Key does.
    key = fields.get("idempotency_key", "").strip()[:253] or uuid.uuid4().hex
    typed = fields.get("payload", "")
    try:
        await page.service.asks.run_now(page.who, job_id, key, _run_payload(typed))
    except BadRequestError as exc:
        return await job_page(request, page, job_id, run_error=exc, run_payload=typed)
    return redirect(request, f"/jobs/{job_id}", "run")


@router.post("/jobs/{job_id}/pause")
async def pause(request: Request, job_id: str) -> Response:
    page = Page.of(request)
    fields = await read_form(request)
    note = fields.get("reason", "").strip()
    if len(note) > _MAX_NOTE:
        raise BadRequestError(f"is longer than {_MAX_NOTE} characters", "reason")
    await page.service.set_paused(page.who, job_id, True, note or None)
    return redirect(request, f"/jobs/{job_id}", "paused")


@router.post("/jobs/{job_id}/resume")
async def resume(request: Request, job_id: str) -> Response:
    page = Page.of(request)
    await read_form(request)
    await page.service.set_paused(page.who, job_id, False, None)
    return redirect(request, f"/jobs/{job_id}", "resumed")


@router.post("/jobs/{job_id}/runs/{run_id}/retry")
async def retry(request: Request, job_id: str, run_id: str) -> Response:
    page = Page.of(request)
    await read_form(request)
    await page.service.runs.get_run(page.who, job_id, run_id)  # the run is this job's
    await page.service.asks.retry_run(page.who, run_id)
    return redirect(request, f"/jobs/{job_id}", "retried")


@router.get("/jobs/{job_id}/delete")
async def confirm_delete(request: Request, job_id: str) -> Response:
    page = Page.of(request)
    obj = await page.service.get_job(page.who, job_id)
    return render(
        request,
        "delete.html",
        page=page,
        job=job_view(obj),
        editable=can_change(page.service.roles, page.who, obj),
    )


@router.post("/jobs/{job_id}/delete")
async def delete(request: Request, job_id: str) -> Response:
    page = Page.of(request)
    await read_form(request)
    await page.service.delete_job(page.who, job_id)
    return redirect(request, "/jobs", "deleted")
