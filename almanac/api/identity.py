"""The ``x-rh-identity`` header: base64 JSON naming the caller's organisation and user.

The platform's gateway sets the header and the facade trusts its content (as the seed's
identity middleware does): the trust boundary is the gateway (see docs/security-model.md),
which the chart's NetworkPolicy and the optional gateway secret enforce. Anything the
facade cannot read unambiguously is refused, so a caller always learns which part of the
header is wrong: missing → 401; unreadable, over 8 KiB, or sent twice → 400 (with two
headers, proxies and frameworks disagree on which one wins, so neither may); two different
org ids in one header → 403.
"""

from __future__ import annotations

import base64
import binascii
import json
from dataclasses import dataclass
from typing import Any, Final

from almanac.api.errors import BadRequestError, ForbiddenError, UnauthenticatedError

__all__ = [
    "HEADER",
    "MAX_HEADER_BYTES",
    "Identity",
    "encode_identity",
    "parse_identity",
    "single_header",
]

HEADER: Final = "x-rh-identity"
MAX_HEADER_BYTES: Final = 8 * 1024
_MAX_TEXT: Final = 256


@dataclass(frozen=True)
class Identity:
    """Who is calling: the organisation decides the namespace, the user goes into audits."""

    org_id: str
    type: str = "User"
    user_id: str | None = None
    username: str | None = None
    is_org_admin: bool = False
    #: The seed's ``identity.account_number`` (an export's identity carries it).
    account_number: str | None = None

    @property
    def actor(self) -> str:
        """The name written into annotations and the audit log."""
        return self.username or self.user_id or f"{self.type.lower()}@{self.org_id}"


def _text(value: Any, field: str, *, required: bool) -> str | None:
    if value is None and not required:
        return None
    if not isinstance(value, str) or not value.strip() or len(value) > _MAX_TEXT:
        what = (
            "is required"
            if value is None
            else f"must be a non-empty string of at most {_MAX_TEXT} characters"
        )
        raise BadRequestError(f"{what} in the identity header", f"{HEADER}.{field}")
    return value.strip()


def single_header(values: list[str]) -> str | None:
    """The one identity header of a request; a second one is a 400, never a choice."""
    if len(values) > 1:
        raise BadRequestError(
            f"was sent {len(values)} times; send exactly one identity header", HEADER
        )
    return values[0] if values else None


def _flag(value: Any, field: str) -> bool:
    if value is None:
        return False
    if not isinstance(value, bool):
        raise BadRequestError("must be true or false", f"{HEADER}.{field}")
    return value


def _decode(header: str) -> dict[str, Any]:
    if len(header.encode()) > MAX_HEADER_BYTES:
        raise BadRequestError(
            f"is longer than {MAX_HEADER_BYTES // 1024} KiB; send the identity alone", HEADER
        )
    try:
        raw = base64.b64decode(header.strip(), validate=True)
        document = json.loads(raw)
    except (binascii.Error, ValueError):
        raise BadRequestError(
            'is not base64-encoded JSON; send base64 of {"identity": {"org_id": ...}}', HEADER
        ) from None
    identity = document.get("identity") if isinstance(document, dict) else None
    if not isinstance(identity, dict):
        raise BadRequestError('has no "identity" object', f"{HEADER}.identity")
    return identity


def parse_identity(header: str | None) -> Identity:
    """Read the header; raise the 401/400/403 error that names what is wrong with it."""
    if header is None or not header.strip():
        raise UnauthenticatedError(
            "the x-rh-identity header is missing; send the caller's base64-encoded identity",
            HEADER,
        )
    identity = _decode(header)
    org_id = _text(identity.get("org_id"), "identity.org_id", required=True)
    assert org_id is not None
    internal = identity.get("internal")
    if isinstance(internal, dict) and internal.get("org_id") not in (None, org_id):
        raise ForbiddenError(
            "identity.org_id and identity.internal.org_id name different organisations",
            f"{HEADER}.identity.internal.org_id",
        )
    user = identity.get("user")
    if user is not None and not isinstance(user, dict):
        raise BadRequestError("must be an object", f"{HEADER}.identity.user")
    user = user or {}
    kind = _text(identity.get("type"), "identity.type", required=False) or "User"
    return Identity(
        org_id=org_id,
        type=kind,
        user_id=_text(user.get("user_id"), "identity.user.user_id", required=False),
        username=_text(user.get("username"), "identity.user.username", required=False),
        is_org_admin=_flag(user.get("is_org_admin"), "identity.user.is_org_admin"),
        account_number=_text(
            identity.get("account_number"), "identity.account_number", required=False
        ),
    )


def encode_identity(
    org_id: str,
    username: str = "jdoe",
    user_id: str = "user-1",
    *,
    is_org_admin: bool = False,
    account_number: str | None = None,
) -> str:
    """A header value as the platform gateway sends it (for tests, examples and benchmarks)."""
    account = {"account_number": account_number} if account_number else {}
    document = {
        "identity": {
            **account,
            "org_id": org_id,
            "type": "User",
            "auth_type": "jwt-auth",
            "user": {"username": username, "user_id": user_id, "is_org_admin": is_org_admin},
            "internal": {"org_id": org_id},
        }
    }
    return base64.b64encode(json.dumps(document).encode()).decode()
