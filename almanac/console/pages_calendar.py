"""The calendar: the organisation's upcoming slots and past runs over a day or a week."""

from __future__ import annotations

from datetime import date, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from fastapi import APIRouter, Request
from starlette.responses import Response

from almanac.api.errors import BadRequestError
from almanac.console import calendar
from almanac.console.web import Page, render
from almanac.history.store import MAX_LIMIT

__all__ = ["router"]

router = APIRouter()


def _zone(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise BadRequestError(f"{name!r} is not an IANA time zone", "tz") from None


@router.get("/calendar")
async def calendar_page(request: Request) -> Response:
    page = Page.of(request)
    params = request.query_params
    view = "day" if params.get("view") == "day" else "week"
    zone_name = params.get("tz", "UTC") or "UTC"
    zone = _zone(zone_name)
    now = page.service.clock()
    try:
        first = (
            date.fromisoformat(params["start"])
            if params.get("start")
            else now.astimezone(zone).date()
        )
    except ValueError:
        raise BadRequestError("is not a date; write it as 2026-03-02", "start") from None
    since, until, days = calendar.span(view, first, zone)  # type: ignore[arg-type]
    namespace = await page.service.namespace(page.who)
    jobs = await page.service.kube.list_jobs(namespace, cached=True)
    runs, _ = await page.service.store.list_runs(
        namespace, since=since, until=until, oldest_first=True, limit=MAX_LIMIT
    )
    shown = calendar.build(jobs, runs, days=days, since=since, until=until, now=now, zone=zone)
    step = timedelta(days=1 if view == "day" else 7)
    return render(
        request,
        "calendar.html",
        page=page,
        cal=shown,
        view=view,
        tz=zone_name,
        previous=(first - step).isoformat(),
        following=(first + step).isoformat(),
        first=first,
    )
