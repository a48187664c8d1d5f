"""Who is using the console: the platform's identity header, or (local stacks only) the
dev sign-in cookie turned into the very same header.

In production the gateway signs the browser in and adds ``x-rh-identity`` (and, when
configured, its secret header) to every request, exactly as for REST: the console reads
them with the REST facade's own functions, so roles, organisations and refusals are the
same. On a local stack there is no gateway; with ``ALMANAC_CONSOLE_DEV_LOGIN=true`` (which
``make dev`` sets) the sign-in page stores a chosen organisation, user name and admin flag
in the ``almanac_dev_identity`` cookie, and the console encodes that cookie as the header
the gateway would have sent. With the setting off the page is a 404 and the cookie is
ignored, so nobody can sign in by cookie in an installation.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
from dataclasses import dataclass
from typing import Final

from starlette.requests import Request

from almanac.api.errors import BadRequestError, Problem
from almanac.api.gateway import GATEWAY_HEADER, check_gateway
from almanac.api.identity import HEADER, Identity, encode_identity, parse_identity, single_header
from almanac.api.settings import ApiSettings

__all__ = ["DEV_COOKIE", "DevSignIn", "caller_of", "has_identity"]

DEV_COOKIE: Final = "almanac_dev_identity"
_TEXT: Final = re.compile(r"[A-Za-z0-9][A-Za-z0-9._@-]{0,62}")


@dataclass(frozen=True)
class DevSignIn:
    """What the dev sign-in page asks: an organisation, a user name, the admin flag."""

    org_id: str
    username: str
    admin: bool = False

    @classmethod
    def from_fields(cls, fields: dict[str, str]) -> DevSignIn:
        """Checked as the header's own fields would be; raises naming each bad field."""
        problems = [
            Problem(name, "use 1-63 letters, digits, '.', '_', '@' or '-'", "bad_request")
            for name in ("org_id", "username")
            if not _TEXT.fullmatch(fields.get(name, "").strip())
        ]
        if problems:
            raise BadRequestError(problems[0].message, problems[0].field or "", problems)
        return cls(
            fields["org_id"].strip(), fields["username"].strip(), fields.get("admin") == "on"
        )

    def cookie(self) -> str:
        raw = json.dumps({"org_id": self.org_id, "username": self.username, "admin": self.admin})
        return base64.urlsafe_b64encode(raw.encode()).decode()

    @classmethod
    def from_cookie(cls, value: str) -> DevSignIn | None:
        """The cookie read back; None when it is not one this page wrote."""
        try:
            data = json.loads(base64.urlsafe_b64decode(value.encode()))
            made = cls.from_fields(
                {
                    "org_id": str(data["org_id"]),
                    "username": str(data["username"]),
                    "admin": "on" if data.get("admin") is True else "",
                }
            )
        except (binascii.Error, ValueError, KeyError, TypeError, BadRequestError):
            return None
        return made

    def header(self) -> str:
        """The ``x-rh-identity`` value the gateway would send for this user."""
        return encode_identity(self.org_id, self.username, self.username, is_org_admin=self.admin)


def has_identity(request: Request, settings: ApiSettings, dev_login: bool) -> bool:
    """Whether the request says who it is (a header, or an enabled dev cookie)."""
    if request.headers.get(HEADER):
        return True
    return dev_login and DevSignIn.from_cookie(request.cookies.get(DEV_COOKIE, "")) is not None


def caller_of(request: Request, settings: ApiSettings, dev_login: bool) -> Identity:
    """The caller as REST would see them: the gateway's proof, then exactly one identity
    header; only without a header, and only with dev sign-in on, the dev cookie."""
    check_gateway(settings.gateway_secret, request.headers.get(GATEWAY_HEADER))
    header = single_header(request.headers.getlist(HEADER))
    if header is None and dev_login:
        signed_in = DevSignIn.from_cookie(request.cookies.get(DEV_COOKIE, ""))
        if signed_in is not None:
            header = signed_in.header()
    who = parse_identity(header)
    request.state.identity = who
    return who
