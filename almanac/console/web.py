"""The console's request plumbing: the page context, rendering, form reading, redirects.

Every page handler starts from :class:`Page` (who is asking, the REST service, this
browser's CSRF token, the console's base path) and ends in :func:`render` or
:func:`redirect`. Form bodies are read here, size-capped and CSRF-checked before any
handler looks at a field, so no handler can forget either.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final
from urllib.parse import parse_qsl, urlencode

import jinja2
from fastapi import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response

from almanac.api.errors import PayloadTooLargeError
from almanac.api.identity import Identity
from almanac.api.service import JobService
from almanac.api.settings import ApiSettings
from almanac.console.security import CSRF_FIELD, check_csrf, csrf_token
from almanac.console.signin import caller_of
from almanac.console.views import role_name

__all__ = ["NOTICES", "Page", "read_form", "redirect", "render"]

_HERE: Final = Path(__file__).parent
#: Largest form body (the import page's YAML is the biggest).
MAX_FORM_BYTES: Final = 512 * 1024
#: What a redirect after an action says on the next page (a code, never reflected text).
NOTICES: Final = {
    "created": "The job was created.",
    "saved": "The job was saved.",
    "imported": "The job was imported.",
    "paused": "The job is paused: its slots are skipped until it is resumed.",
    "resumed": "The job is resumed.",
    "run": "A run was asked for; it shows in the runs below once the operator starts it.",
    "retried": "A retry was asked for; it shows in the runs once the operator starts it.",
    "deleted": "The job was deleted.",
    "signed-out": "You are signed out.",
}

_ENV: Final = jinja2.Environment(
    loader=jinja2.FileSystemLoader(_HERE / "templates"),
    autoescape=True,
    undefined=jinja2.StrictUndefined,
    trim_blocks=True,
    lstrip_blocks=True,
)


@dataclass(frozen=True)
class Page:
    """One console request: the caller, the service, and what every template needs."""

    request: Request
    who: Identity
    service: JobService
    dev_login: bool

    @classmethod
    def of(cls, request: Request) -> Page:
        """The caller as REST reads them (401/400 when the identity is missing or bad)."""
        state = request.app.state
        settings: ApiSettings = state.settings
        who = caller_of(request, settings, state.dev_login)
        return cls(request, who, state.service(), state.dev_login)

    @property
    def base(self) -> str:
        return base_of(self.request)

    def globals(self) -> dict[str, Any]:
        return {
            "who": self.who,
            "role": role_name(self.service.roles, self.who),
            "dev_login": self.dev_login,
        }


def base_of(request: Request) -> str:
    """The console's path prefix (``/console``, under a proxy's root path if any)."""
    return str(request.scope.get("root_path", "")).rstrip("/")


def render(
    request: Request,
    template: str,
    *,
    page: Page | None = None,
    status: int = 200,
    **context: Any,
) -> HTMLResponse:
    notice = NOTICES.get(request.query_params.get("notice", ""))
    values = {
        "base": base_of(request),
        "csrf_field": CSRF_FIELD,
        "csrf_token": csrf_token(request),
        "notice": notice,
        "who": None,
        "role": None,
        "dev_login": bool(getattr(request.app.state, "dev_login", False)),
        "assets_missing": request.app.state.assets_missing,
        **(page.globals() if page else {}),
        **context,
    }
    return HTMLResponse(_ENV.get_template(template).render(values), status_code=status)


def redirect(request: Request, path: str, notice: str | None = None, **query: str) -> Response:
    """A 303 to ``path`` under the console (the browser GETs it: no re-post on reload)."""
    params = {**query, **({"notice": notice} if notice else {})}
    suffix = "?" + urlencode(params) if params else ""
    return RedirectResponse(base_of(request) + path + suffix, status_code=303)


async def read_form(request: Request) -> dict[str, str]:
    """The posted fields (URL-encoded; a repeated name keeps its last value), after the
    size cap and the CSRF check."""
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > MAX_FORM_BYTES:
        raise PayloadTooLargeError(f"the form is over {MAX_FORM_BYTES // 1024} KiB", "body")
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > MAX_FORM_BYTES:
            raise PayloadTooLargeError(f"the form is over {MAX_FORM_BYTES // 1024} KiB", "body")
    fields = dict(parse_qsl(body.decode("utf-8", "replace"), keep_blank_values=True))
    check_csrf(request, fields.pop(CSRF_FIELD, None))
    return fields
