"""The gateway's proof: a shared secret and, optionally, its client certificate.

The facade believes ``x-rh-identity`` as the gateway set it. The chart's NetworkPolicy lets
only the gateway's pods reach the facade; the secret is the second lock, for clusters whose
network does not enforce policies: with ``ALMANAC_API_GATEWAY_SECRET`` set, a request that
does not carry it in ``x-almanac-gateway-secret`` is refused before its identity is read.
The comparison takes the same time whatever the guess, so the secret cannot be found one
character at a time.

The third lock is mutual TLS (:mod:`almanac.api.serving`): with
``ALMANAC_API_GATEWAY_CLIENT_CA`` the TLS handshake itself refuses a client without a
certificate from the gateway's CA. A CA often signs more than the gateway (every workload
of a mesh, say), so ``ALMANAC_API_GATEWAY_CLIENT_NAMES`` narrows it to the gateway's own
names; :func:`check_client_names` is that check, on the certificate the handshake verified.
"""

from __future__ import annotations

import hmac
from collections.abc import Mapping
from typing import Any, Final

from almanac.api.errors import ForbiddenError, UnauthenticatedError
from almanac.api.settings import CLIENT_NAMES_VARIABLE

__all__ = [
    "CLIENT_CERTIFICATE_FIELD",
    "GATEWAY_HEADER",
    "check_client_names",
    "check_gateway",
    "client_certificate_names",
]

GATEWAY_HEADER: Final = "x-almanac-gateway-secret"
#: The ``field`` of a refusal for the client certificate's names (not a header or body).
CLIENT_CERTIFICATE_FIELD: Final = "tls.client_certificate"


def check_gateway(expected: str | None, sent: str | None) -> None:
    """Pass when no secret is configured or ``sent`` is it; otherwise a 401."""
    if expected is None:
        return
    if sent is None or not hmac.compare_digest(sent.encode(), expected.encode()):
        raise UnauthenticatedError(
            "the request did not come through the platform gateway (its secret header is "
            "missing or wrong); call the API through the gateway",
            GATEWAY_HEADER,
        )


def client_certificate_names(peercert: Mapping[str, Any]) -> tuple[str, ...]:
    """The subject common names, then the DNS subject alternative names, of a certificate
    as :meth:`ssl.SSLSocket.getpeercert` describes it (a verified one: the dict is empty
    otherwise)."""
    common = [
        value for rdn in peercert.get("subject", ()) for key, value in rdn if key == "commonName"
    ]
    dns = [value for kind, value in peercert.get("subjectAltName", ()) if kind == "DNS"]
    return (*common, *dns)


def check_client_names(allowed: frozenset[str], peercert: Mapping[str, Any] | None) -> None:
    """Pass when no names are configured or the certificate carries one of them (compared
    without case, as DNS names are; no wildcards); otherwise a 403 naming what it carries.

    ``peercert`` is ``None`` when the connection has no verified client certificate, which
    the handshake already refuses when names are configured: refused here too, not let by.
    """
    if not allowed:
        return
    names = client_certificate_names(peercert or {})
    wanted = {name.casefold() for name in allowed}
    if any(name.casefold() in wanted for name in names):
        return
    shown = ", ".join(repr(n) for n in names) if names else "none"
    raise ForbiddenError(
        f"the client certificate (subject CN and DNS names: {shown}) is signed by the "
        f"gateway's CA but is not one of the names in {CLIENT_NAMES_VARIABLE}; call the API "
        "through the gateway, or add the gateway certificate's name to that list",
        CLIENT_CERTIFICATE_FIELD,
    )
