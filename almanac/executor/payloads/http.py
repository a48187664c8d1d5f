"""``http`` payload: one HTTP request through the egress guard, judged by its status.

Params (camelCase)::

    method: GET|POST|PUT|PATCH|DELETE|HEAD|OPTIONS   (default GET)
    url: https://example.com/hook                     (required)
    headers: {Name: value | {secretKeyRef: {name, key}}}
    body: "text" | {any JSON}                         (JSON sets Content-Type)
    timeout: 30s                                      (whole request, every hop)
    expectedStatus: [200, 204]                        (default: any 2xx)
    responseExcerptBytes: 512                         (0-2048, kept in the result)
    followRedirects: 0                                (0-5 hops, each vetted again)

Redirects are not followed unless ``followRedirects`` asks for hops: by default a 3xx is
the answer (judged against ``expectedStatus``). A hop to another origin is sent without
``Authorization``, ``Proxy-Authorization``, ``Cookie`` and the headers whose values are
Secrets (:mod:`almanac.executor.guardedhttp`); the result lists them as
``droppedHeaders``, so a 401 after a redirect explains itself.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from typing import Any, Literal

import httpx
from pydantic import Field

from almanac.core.base import Duration
from almanac.executor.context import PayloadContext
from almanac.executor.errors import PayloadFailedError
from almanac.executor.guardedhttp import GuardedHttp
from almanac.executor.paramsmodel import ParamsModel, parse_params
from almanac.executor.payloads.common import (
    HttpUrl,
    JsonValue,
    MaybeSecret,
    encode_body,
    seconds,
    traced,
)
from almanac.executor.result import Result

__all__ = ["HttpParams", "execute"]

Method = Literal["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"]


class HttpParams(ParamsModel):
    """Params of the ``http`` payload."""

    method: Method = Field("GET", description="HTTP method.")
    url: HttpUrl = Field(description="Absolute http(s) URL.")
    headers: dict[str, MaybeSecret] = Field(
        default_factory=dict, max_length=64, description="Request headers (values may be Secrets)."
    )
    body: JsonValue = Field(None, description="Text, or JSON sent as application/json.")
    timeout: Duration = Field("30s", description="Deadline of the whole request.")
    expected_status: list[int] | None = Field(
        None, min_length=1, max_length=32, description="Accepted status codes (default 2xx)."
    )
    response_excerpt_bytes: int = Field(
        512, ge=0, le=2048, description="How much of the response body the result keeps."
    )
    follow_redirects: int = Field(0, ge=0, le=5, description="Redirect hops to follow.")


def _excerpt(body: bytes) -> str:
    return body.decode("utf-8", errors="replace")


async def execute(raw: Mapping[str, Any], ctx: PayloadContext) -> Result:
    """Send the request; succeed when the final status is expected."""
    params = parse_params(HttpParams, raw)
    headers = {
        name: ctx.secrets.read(value, f"params.headers.{name}")
        if not isinstance(value, str)
        else value
        for name, value in params.headers.items()
    }
    content, content_type = encode_body(params.body)
    if content_type and not any(h.lower() == "content-type" for h in headers):
        headers["Content-Type"] = content_type
    timeout = seconds(params.timeout, "params.timeout")
    async with httpx.AsyncClient(
        transport=ctx.http_transport, trust_env=False, follow_redirects=False
    ) as client:
        guarded = GuardedHttp(client, ctx.resolver, ctx.settings.allow_cidrs)
        try:
            async with asyncio.timeout(timeout):
                reply = await guarded.request(
                    params.method,
                    params.url,
                    field="params.url",
                    headers=traced(headers, ctx.run.trace),
                    content=content,
                    timeout=timeout,
                    body_limit=params.response_excerpt_bytes,
                    max_redirects=params.follow_redirects,
                    secret_headers=[
                        name for name, value in params.headers.items() if not isinstance(value, str)
                    ],
                )
        except TimeoutError:
            raise PayloadFailedError(
                f"{params.method} {params.url} timed out after {params.timeout}; raise "
                "params.timeout or check that the endpoint answers",
                "params.url",
            ) from None
    expected = params.expected_status
    ok = reply.status_code in expected if expected else 200 <= reply.status_code < 300
    details = {
        "method": params.method,
        "url": reply.url,
        "address": reply.address,
        "statusCode": reply.status_code,
        "elapsedMs": reply.elapsed_ms,
        "redirects": reply.redirects,
        "responseExcerpt": _excerpt(reply.body),
    }
    if reply.dropped_headers:
        details["droppedHeaders"] = list(reply.dropped_headers)
    if ok:
        return Result.succeeded(
            f"{params.method} {reply.url} returned {reply.status_code}", **details
        )
    wanted = ", ".join(map(str, expected)) if expected else "2xx"
    return Result.failed(
        f"{params.method} {reply.url} returned {reply.status_code}, expected {wanted}; check "
        "the endpoint or params.expectedStatus",
        **details,
    )
