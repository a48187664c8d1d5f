"""The facade's request spans: one SERVER span per request, with the caller's org.

OpenTelemetry's FastAPI instrumentation makes the span (route template as its name,
method, status, an incoming ``traceparent`` continued); :class:`RequestOrg` adds the
organisation the identity header named (``almanac.org_id``) as the response starts. The
identity header itself is never an attribute: header capture, should
``OTEL_INSTRUMENTATION_HTTP_CAPTURE_HEADERS_SERVER_REQUEST`` ask for it, is redacted for
the identity and the gateway's secret. Health and metrics probes are not traced.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Final

from fastapi import FastAPI
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from almanac.api.gateway import GATEWAY_HEADER
from almanac.api.identity import HEADER, Identity
from almanac.tracing.settings import NoTracing

if TYPE_CHECKING:
    from almanac.tracing.otel import OtelTracing

__all__ = ["RequestOrg", "instrument_facade"]

#: Paths not traced (probes: a span each every few seconds says nothing); regular
#: expressions searched in the URL, anchored so ``/metrics/summary`` stays traced.
UNTRACED: Final = "/healthz$,/readyz$,/metrics$"
#: Headers whose values never reach a span, whatever the capture settings say.
REDACTED: Final = (HEADER, GATEWAY_HEADER, "authorization", "cookie")


class RequestOrg:
    """ASGI middleware: the request's org on the current (request) span, set as the
    response starts (the identity is known by then, and the span still open: the
    instrumentation ends it with the response's last body part)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def marking(message: Message) -> None:
            if message["type"] == "http.response.start":
                _mark_org(scope)
            await send(message)

        await self.app(scope, receive, marking)


def _mark_org(scope: Scope) -> None:
    from opentelemetry import trace  # noqa: PLC0415 - loaded already when instrumented

    who = scope.get("state", {}).get("identity")
    span = trace.get_current_span()
    if isinstance(who, Identity) and span.is_recording():
        span.set_attribute("almanac.org_id", who.org_id)


def instrument_facade(app: FastAPI, tracing: NoTracing | OtelTracing) -> None:
    """Trace ``app``'s requests when tracing is on (call before it serves)."""
    if isinstance(tracing, NoTracing):
        return
    from opentelemetry.instrumentation.fastapi import FastAPIInstrumentor  # noqa: PLC0415

    app.add_middleware(RequestOrg)
    FastAPIInstrumentor.instrument_app(
        app,
        tracer_provider=tracing.provider,
        excluded_urls=UNTRACED,
        http_capture_headers_sanitize_fields=list(REDACTED),
        exclude_spans=["receive", "send"],
    )
