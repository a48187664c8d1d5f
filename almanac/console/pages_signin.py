"""The dev sign-in page (only with ``ALMANAC_CONSOLE_DEV_LOGIN=true``) and sign-out.

With the setting off, both answer 404, exactly as a page that does not exist.
"""

from __future__ import annotations

from fastapi import APIRouter, Request
from starlette.exceptions import HTTPException
from starlette.responses import Response

from almanac.api.errors import BadRequestError
from almanac.console.signin import DEV_COOKIE, DevSignIn
from almanac.console.views import FieldErrors, field_errors
from almanac.console.web import base_of, read_form, redirect, render

__all__ = ["router"]

router = APIRouter()


def _enabled(request: Request) -> None:
    if not request.app.state.dev_login:
        raise HTTPException(404, "no such page")


def _next(request: Request, target: str) -> str:
    """Where to go after signing in: a console page, never another site."""
    base = base_of(request)
    if target.startswith(base + "/") and "//" not in target and "\\" not in target:
        return target.removeprefix(base)
    return "/jobs"


@router.get("/login")
async def login_form(request: Request) -> Response:
    _enabled(request)
    readers = sorted(request.app.state.settings.readonly_users)
    return render(
        request,
        "login.html",
        errors=FieldErrors(),
        fields={"org_id": "000101", "username": "jdoe", "admin": ""},
        next=request.query_params.get("next", ""),
        readers=readers,
    )


@router.post("/login")
async def login(request: Request) -> Response:
    _enabled(request)
    fields = await read_form(request)
    try:
        signed_in = DevSignIn.from_fields(fields)
    except BadRequestError as exc:
        return render(
            request,
            "login.html",
            status=400,
            errors=field_errors(exc, ("org_id", "username")),
            fields=fields,
            next=fields.get("next", ""),
            readers=sorted(request.app.state.settings.readonly_users),
        )
    response = redirect(request, _next(request, fields.get("next", "")))
    response.set_cookie(
        DEV_COOKIE,
        signed_in.cookie(),
        httponly=True,
        samesite="strict",
        secure=request.url.scheme == "https",
        path=base_of(request) or "/",
    )
    return response


@router.post("/logout")
async def logout(request: Request) -> Response:
    _enabled(request)
    await read_form(request)
    response = redirect(request, "/login", "signed-out")
    response.delete_cookie(DEV_COOKIE, path=base_of(request) or "/")
    return response
