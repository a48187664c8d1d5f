"""Every request observed once: a request id on the answer, a log line, the metrics.

* **Request id.** The gateway's ``x-insights-request-id`` is kept when it is a plain token
  (letters, digits, ``.``, ``_``, ``-``; at most 128), else a fresh one is made; the answer
  carries it in the same header, so a caller can quote it and on-call can find the line.
* **Access log.** One JSON line per request (``request``) with the request id, org, user,
  method, route template, status and duration. The identity is the one the ``Caller``
  dependency read (:mod:`almanac.api.dependencies` keeps it on the request); requests
  refused before that carry none. Header values and bodies are never logged.
* **Metrics.** By route template, never the raw path, so label cardinality stays bounded.
"""

from __future__ import annotations

import logging
import re
import time
import uuid
from typing import Final

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from almanac.api.identity import Identity
from almanac.api.metrics import ApiMetrics

__all__ = ["REQUEST_ID_HEADER", "ObservedRequests", "request_id_of"]

REQUEST_ID_HEADER: Final = "x-insights-request-id"
_TOKEN: Final = re.compile(r"[A-Za-z0-9._-]{1,128}")
log = logging.getLogger("almanac.api.requests")


def request_id_of(sent: str | None) -> str:
    """The gateway's id when it is a plain token, else a new one."""
    if sent is not None and _TOKEN.fullmatch(sent):
        return sent
    return uuid.uuid4().hex


def _header(scope: Scope, name: bytes) -> str | None:
    for key, value in scope.get("headers", ()):
        if key == name:
            return bytes(value).decode("latin-1")
    return None


class ObservedRequests:
    """ASGI middleware: request id in and out, one access-log line, the request metrics."""

    def __init__(self, app: ASGIApp, metrics: ApiMetrics) -> None:
        self.app = app
        self.metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        request_id = request_id_of(_header(scope, REQUEST_ID_HEADER.encode()))
        status = 500

        async def answer(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
                headers = list(message.get("headers", ()))
                headers.append((REQUEST_ID_HEADER.encode(), request_id.encode()))
                message = {**message, "headers": headers}
            await send(message)

        try:
            await self.app(scope, receive, answer)
        finally:
            elapsed = time.perf_counter() - started
            route = getattr(scope.get("route"), "path", None) or "unmatched"
            method = str(scope["method"])
            self.metrics.requests.labels(method, route, str(status)).inc()
            self.metrics.latency.labels(method, route).observe(elapsed)
            who = scope.get("state", {}).get("identity")
            log.info(
                "request",
                extra={
                    "request_id": request_id,
                    "org_id": who.org_id if isinstance(who, Identity) else None,
                    "user": who.actor if isinstance(who, Identity) else None,
                    "method": method,
                    "route": route,
                    "status": status,
                    "duration_ms": round(elapsed * 1000, 2),
                },
            )
