"""Seed 004's monitoring answers: ``GET /health`` (the facade's dependencies) and
``GET /metrics/summary`` (the caller's organisation: its jobs and runs).

``/health``: one entry per component with its latency.

Why beside ``/readyz``: the probe answers the kubelet in one word; this answers a person or
a dashboard which part is down and how slow the others are. Kubernetes is required (job
definitions live there): without it the answer is 503 ``unhealthy`` with ``Retry-After``.
Postgres (run history) and Kafka (``POST /events``) are not: without them the facade is
``degraded`` and still answers 200, because job CRUD still works.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Annotated, Final, Literal

from fastapi import APIRouter, Query
from fastapi.responses import JSONResponse

from almanac.api.dependencies import Caller, Context, Service
from almanac.api.errors import UPSTREAM_RETRY_AFTER
from almanac.api.routes import examples
from almanac.api.routes.common import ERRORS, RETRY_AFTER, success
from almanac.api.schemas import Component, Health
from almanac.api.summary import MetricsSummary, Period

__all__ = ["router"]

router = APIRouter()
log = logging.getLogger("almanac.api")
CHECK_TIMEOUT: Final = 2.0
_EXAMPLE: Final = {
    "status": "degraded",
    "components": {
        "kubernetes": {"status": "up", "required": True, "latency_ms": 3.1, "message": None},
        "database": {
            "status": "down",
            "required": False,
            "latency_ms": None,
            "message": "OperationalError",
        },
        "kafka": {"status": "up", "required": False, "latency_ms": 0.4, "message": None},
    },
    "checked_at": "2026-12-03T12:00:00Z",
}


async def _check(name: str, check: Callable[[], Awaitable[object]], *, required: bool) -> Component:
    started = time.perf_counter()
    try:
        await asyncio.wait_for(check(), timeout=CHECK_TIMEOUT)
    except Exception as exc:  # any failure means down: say what kind, log the details
        # The answer is unauthenticated: an error's text can carry a database address or a
        # user name, so callers get its kind and the logs get the rest.
        log.warning("health check failed", extra={"component": name, "error": str(exc)})
        kind = "timed out" if isinstance(exc, TimeoutError) else type(exc).__name__
        return Component(status="down", required=required, message=kind)
    latency = round((time.perf_counter() - started) * 1000, 1)
    return Component(status="up", required=required, latency_ms=latency)


async def _tcp(address: str) -> None:
    host, _, port = address.split(",", maxsplit=1)[0].strip().rpartition(":")
    _, writer = await asyncio.open_connection(host, int(port))
    writer.close()
    await writer.wait_closed()


@router.get(
    "/health",
    tags=["health"],
    summary="Health of the facade's dependencies",
    operation_id="getHealth",
    response_model=Health,
    responses={
        **success(
            200,
            "Every component, healthy or degraded.",
            {"degraded": {"summary": "Postgres is down; jobs still work", "value": _EXAMPLE}},
        ),
        503: {
            "model": Health,
            "description": "Kubernetes is not answering: the facade is unhealthy.",
            "content": {"application/json": {"example": _EXAMPLE | {"status": "unhealthy"}}},
            "headers": RETRY_AFTER,
        },
    },
)
async def health(context: Context) -> JSONResponse:
    history = context.history

    async def database() -> None:
        assert history is not None
        async with history.pool.connection() as conn:
            await conn.execute("SELECT 1")

    bootstrap = context.settings.kafka_bootstrap
    kube, db, kafka = await asyncio.gather(
        _check("kubernetes", context.kube.ping, required=True),
        _check("database", database, required=False) if history else _unset(),
        _check("kafka", lambda: _tcp(bootstrap), required=False) if bootstrap else _unset(),
    )
    components = {"kubernetes": kube, "database": db, "kafka": kafka}
    if kube.status == "down":
        status: Literal["healthy", "degraded", "unhealthy"] = "unhealthy"
    elif any(c.status == "down" for c in components.values()):
        status = "degraded"
    else:
        status = "healthy"
    body = Health(status=status, components=components, checked_at=datetime.now(UTC))
    code = 503 if status == "unhealthy" else 200
    headers = {"Retry-After": str(UPSTREAM_RETRY_AFTER)} if code == 503 else None
    return JSONResponse(body.model_dump(mode="json"), status_code=code, headers=headers)


async def _unset() -> Component:
    return Component(status="not_configured", required=False)


@router.get(
    "/metrics/summary",
    tags=["metrics"],
    summary="Jobs and runs of the organisation over a period",
    operation_id="getMetricsSummary",
    responses=ERRORS
    | success(
        200, "Jobs by status now; runs whose slot is in the period.", examples.METRICS_SUMMARY
    ),
)
async def metrics_summary(
    who: Caller,
    service: Service,
    period: Annotated[
        Period, Query(description="How far back from now: 1h, 24h (default), 7d or 30d.")
    ] = "24h",
) -> MetricsSummary:
    return await service.runs.summary(who, period)
