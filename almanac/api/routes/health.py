"""Probes and metrics, outside the API base path and the OpenAPI document.

They still name an ``operationId`` like every route, so a route added to the document later
cannot slip in with a generated one; a not-ready ``/readyz`` says when to ask again with
``Retry-After``, as every 503 of the facade does.
"""

from __future__ import annotations

import asyncio

from fastapi import APIRouter, Request, Response
from fastapi.responses import PlainTextResponse
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from almanac.api.dependencies import Context
from almanac.api.errors import UPSTREAM_RETRY_AFTER
from almanac.api.metrics import ApiMetrics

__all__ = ["router"]

router = APIRouter(include_in_schema=False)
READY_TIMEOUT = 2.0


@router.get("/healthz", operation_id="getLiveness")
async def healthz() -> PlainTextResponse:
    return PlainTextResponse("ok")


@router.get("/readyz", operation_id="getReadiness")
async def readyz(context: Context) -> PlainTextResponse:
    """Ready when the Kubernetes API answers: job CRUD needs nothing else. A Postgres outage
    leaves the facade ready (the history routes answer 503 with ``Retry-After`` meanwhile),
    so a history outage does not take job CRUD down with it."""
    try:
        await asyncio.wait_for(context.kube.ping(), timeout=READY_TIMEOUT)
    except Exception as exc:  # any failure means "not ready": say which
        retry = {"Retry-After": str(UPSTREAM_RETRY_AFTER)}
        return PlainTextResponse(f"not ready: {exc}", status_code=503, headers=retry)
    return PlainTextResponse("ready")


@router.get("/metrics", operation_id="getMetrics")
async def metrics(request: Request) -> Response:
    registry: ApiMetrics = request.app.state.metrics
    return Response(generate_latest(registry.registry), media_type=CONTENT_TYPE_LATEST)
