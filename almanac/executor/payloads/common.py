"""Param types shared by several payloads."""

from __future__ import annotations

import json
from typing import Annotated, Any, Final

from pydantic import AfterValidator, Field

from almanac.core.durations import parse_duration
from almanac.core.tracing import TraceParent
from almanac.executor.secrets import SecretRef

__all__ = [
    "HttpUrl",
    "JsonValue",
    "MaybeSecret",
    "encode_body",
    "seconds",
    "traced",
]

_MAX_SECONDS: Final = 24 * 3600.0


def _http_url(text: str) -> str:
    scheme, sep, rest = text.partition("://")
    if not sep or scheme.lower() not in {"http", "https"} or not rest or rest[0] in "/?#":
        raise ValueError("must be an http:// or https:// URL with a host, e.g. https://example.com")
    return text


#: An absolute http(s) URL (the egress guard checks where it leads at run time).
HttpUrl = Annotated[
    str,
    AfterValidator(_http_url),
    Field(min_length=8, max_length=2048, pattern=r"^[hH][tT][tT][pP][sS]?://[^/?#]+"),
]
#: A string, or a Secret reference resolved at run time.
MaybeSecret = str | SecretRef
#: Any JSON value (bodies, Kafka values, SQL parameters).
JsonValue = Any


def seconds(duration: str, field: str) -> float:
    """A checked duration in seconds, capped at one day."""
    return min(parse_duration(duration, field).total_seconds(), _MAX_SECONDS)


def encode_body(body: JsonValue) -> tuple[bytes | None, str | None]:
    """Body bytes and default content type: strings as text, anything else as JSON."""
    if body is None:
        return None, None
    if isinstance(body, str):
        return body.encode(), "text/plain; charset=utf-8"
    return json.dumps(body, separators=(",", ":")).encode(), "application/json"


def traced(headers: dict[str, str], trace: TraceParent | None) -> dict[str, str]:
    """``headers`` with the run's ``traceparent`` (W3C Trace Context), so the service
    called can continue the run's trace; one the params set themselves is kept."""
    if trace is None or any(name.lower() == "traceparent" for name in headers):
        return headers
    return headers | {"traceparent": str(trace)}
