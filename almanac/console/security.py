"""What every console response carries, and the CSRF check of every form post.

* **Content-Security-Policy**: scripts and style sheets only from the console's own
  static files (no inline script, no ``eval``, no ``<style>``; style *attributes* are
  allowed for JSON Editor), no plugins, no framing, forms post only to this origin. A
  page that needs data gives it as HTML attributes or a ``type="application/json"`` block,
  which the browser never executes.
* **CSRF**: the platform gateway signs browsers in with a cookie, so a page of another
  site could make a browser post to the console. Every form carries a token that must
  equal the ``almanac_csrf`` cookie (double submit: another site can neither read the
  cookie nor set the field to it), the cookie is ``SameSite=Strict`` and ``HttpOnly``, and
  a post whose ``Origin`` or ``Sec-Fetch-Site`` names another site is refused before the
  token is even looked at.
"""

from __future__ import annotations

import hmac
import secrets
from collections.abc import Awaitable, Callable
from typing import Final

from starlette.requests import Request
from starlette.responses import Response

from almanac.api.errors import ForbiddenError

__all__ = [
    "CSP",
    "CSRF_COOKIE",
    "CSRF_FIELD",
    "check_csrf",
    "csrf_token",
    "secure_headers",
]

CSP: Final = "; ".join(
    (
        "default-src 'none'",
        "script-src 'self'",
        "style-src 'self'",
        # JSON Editor shows and hides parts of the form with style attributes; attributes
        # cannot load or run anything, and <style> elements stay refused.
        "style-src-attr 'unsafe-inline'",
        "img-src 'self' data:",
        "connect-src 'self'",
        "font-src 'self'",
        "form-action 'self'",
        "frame-ancestors 'none'",
        "base-uri 'none'",
    )
)
CSRF_COOKIE: Final = "almanac_csrf"
CSRF_FIELD: Final = "csrf_token"
_HEADERS: Final = {
    "Content-Security-Policy": CSP,
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "same-origin",
    "Cache-Control": "no-store",
}
_REFUSED: Final = (
    "the form's security token does not match this browser's; reload the page and send "
    "the form again"
)


def csrf_token(request: Request) -> str:
    """This browser's token (its cookie), or a new one that :func:`secure_headers` sets."""
    token = request.cookies.get(CSRF_COOKIE)
    if not token or len(token) != 43:
        token = getattr(request.state, "new_csrf", None) or secrets.token_urlsafe(32)
        request.state.new_csrf = token
    return token


def _same_site(request: Request) -> bool:
    if request.headers.get("sec-fetch-site", "same-origin") not in ("same-origin", "none"):
        return False
    origin = request.headers.get("origin")
    if origin is None or origin == "null":
        return origin is None
    host = request.headers.get("host", "")
    return origin.split("://", 1)[-1] == host


def check_csrf(request: Request, submitted: str | None) -> None:
    """Refuse (403) a post from another site, or whose token is not this browser's."""
    cookie = request.cookies.get(CSRF_COOKIE, "")
    if (
        not _same_site(request)
        or not cookie
        or not submitted
        or not hmac.compare_digest(cookie.encode(), submitted.encode())
    ):
        raise ForbiddenError(_REFUSED, CSRF_FIELD)


async def secure_headers(
    request: Request, call_next: Callable[[Request], Awaitable[Response]]
) -> Response:
    """Middleware: the headers above on every console answer, and the CSRF cookie when a
    page minted a token."""
    response = await call_next(request)
    for name, value in _HEADERS.items():
        response.headers.setdefault(name, value)
    token = getattr(request.state, "new_csrf", None)
    if token:
        response.set_cookie(
            CSRF_COOKIE,
            token,
            httponly=True,
            samesite="strict",
            secure=request.url.scheme == "https",
            path=str(request.scope.get("root_path", "")) or "/",
        )
    return response
