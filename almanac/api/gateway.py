"""The gateway's proof: a shared secret that only the platform gateway sends.

The facade believes ``x-rh-identity`` as the gateway set it. The chart's NetworkPolicy lets
only the gateway's pods reach the facade; the secret is the second lock, for clusters whose
network does not enforce policies: with ``ALMANAC_API_GATEWAY_SECRET`` set, a request that
does not carry it in ``x-almanac-gateway-secret`` is refused before its identity is read.
The comparison takes the same time whatever the guess, so the secret cannot be found one
character at a time.
"""

from __future__ import annotations

import hmac
from typing import Final

from almanac.api.errors import UnauthenticatedError

__all__ = ["GATEWAY_HEADER", "check_gateway"]

GATEWAY_HEADER: Final = "x-almanac-gateway-secret"


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
