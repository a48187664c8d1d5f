"""``export`` payload: the Export Service flow (seed 000) - create, poll, report the link.

Flow, every request carrying ``x-rh-identity`` (base64 JSON identity of the job's
organisation) and a fresh ``x-insights-request-id``::

    POST {baseUrl}/exports            {name, format, sources}  -> {id, status, ...}
    GET  {baseUrl}/exports/{id}/status  every pollInterval, at most maxPolls times
         status pending | running | partial  -> poll again
         status complete                     -> succeeded, download URL {baseUrl}/exports/{id}
         status failed                       -> failed with the service's error message

Params (camelCase): ``baseUrl`` (required, egress-guarded like ``http``), ``name``,
``format`` (json|csv), ``sources`` [{application, resource, filters}], ``orgId`` (default:
from the ``org-<id>`` namespace), ``accountNumber``, ``username``, ``pollInterval`` (5s),
``maxPolls`` (120), ``requestTimeout`` (5s).
"""

from __future__ import annotations

import asyncio
import base64
import json
import uuid
from collections.abc import Mapping
from typing import Any, Final, Literal

import httpx
from pydantic import Field

from almanac.core.base import Duration, SpecModel
from almanac.executor.context import PayloadContext
from almanac.executor.errors import PayloadFailedError
from almanac.executor.guardedhttp import GuardedHttp, HttpReply
from almanac.executor.paramsmodel import ParamsModel, parse_params
from almanac.executor.payloads.common import HttpUrl, seconds, traced
from almanac.executor.result import Result

__all__ = ["ExportParams", "ExportSource", "execute", "identity_header"]

_BODY_LIMIT: Final = 256 * 1024
_IN_PROGRESS: Final = frozenset({"pending", "running", "partial"})


class ExportSource(SpecModel):
    """One data source of an export."""

    application: str = Field(min_length=1, max_length=128, description="e.g. inventory.")
    resource: str = Field(min_length=1, max_length=128, description="e.g. hosts.")
    filters: dict[str, Any] = Field(default_factory=dict, description="Source filters.")


class ExportParams(ParamsModel):
    """Params of the ``export`` payload."""

    base_url: HttpUrl = Field(description="Export Service API root, e.g. .../api/export/v1.")
    name: str = Field(min_length=1, max_length=255, description="Export name.")
    format: Literal["json", "csv"] = Field(description="Export format.")
    sources: list[ExportSource] = Field(min_length=1, max_length=32, description="Sources.")
    org_id: str | None = Field(
        None, min_length=1, max_length=64, description="Organisation (default: namespace)."
    )
    account_number: str | None = Field(None, max_length=64, description="Account number.")
    username: str = Field("almanac", min_length=1, max_length=255, description="Requester.")
    poll_interval: Duration = Field("5s", description="Pause between status polls.")
    max_polls: int = Field(120, ge=1, le=10_000, description="Status polls before giving up.")
    request_timeout: Duration = Field("5s", description="Deadline of each request.")


def identity_header(org_id: str, account_number: str | None, username: str) -> str:
    """The ``x-rh-identity`` value: base64 of the identity JSON the platform expects."""
    identity = {
        "identity": {
            "account_number": account_number or "",
            "org_id": org_id,
            "type": "User",
            "auth_type": "jwt-auth",
            "user": {"username": username},
            "internal": {"org_id": org_id},
        }
    }
    return base64.b64encode(json.dumps(identity).encode()).decode()


def _org_id(params: ExportParams, namespace: str) -> str:
    if params.org_id:
        return params.org_id
    if namespace.startswith("org-") and len(namespace) > 4:
        return namespace[4:]
    raise PayloadFailedError(
        f"no organisation: namespace {namespace!r} is not org-<id>; set params.orgId",
        "params.orgId",
    )


def _json(reply: HttpReply, what: str) -> dict[str, Any]:
    try:
        data = json.loads(reply.body)
    except ValueError:
        data = None
    if not isinstance(data, dict):
        raise PayloadFailedError(
            f"{what}: the Export Service answered {reply.status_code} without a JSON object",
            "params.baseUrl",
            {"statusCode": reply.status_code},
        )
    return data


def _service_error(data: Mapping[str, Any]) -> str:
    for key in ("error", "message", "detail"):
        value = data.get(key)
        if isinstance(value, str) and value:
            return value
        if isinstance(value, Mapping) and isinstance(value.get("message"), str):
            return str(value["message"])
    messages = [
        f"{s.get('application')}/{s.get('resource')}: {s.get('message')}"
        for s in data.get("sources") or []
        if isinstance(s, Mapping) and s.get("message")
    ]
    return "; ".join(messages) or "no error message given"


async def execute(raw: Mapping[str, Any], ctx: PayloadContext) -> Result:
    """Create the export and poll it to completion."""
    params = parse_params(ExportParams, raw)
    root = params.base_url.rstrip("/")
    timeout = seconds(params.request_timeout, "params.requestTimeout")
    interval = seconds(params.poll_interval, "params.pollInterval")
    identity = identity_header(
        _org_id(params, ctx.run.namespace), params.account_number, params.username
    )
    body = params.model_dump(mode="json", include={"name", "format", "sources"})

    async with httpx.AsyncClient(
        transport=ctx.http_transport, trust_env=False, follow_redirects=False
    ) as client:
        guarded = GuardedHttp(client, ctx.resolver, ctx.settings.allow_cidrs)

        async def call(method: str, url: str, content: bytes | None = None) -> HttpReply:
            headers = {
                "x-rh-identity": identity,
                "x-insights-request-id": str(uuid.uuid4()),
                "Accept": "application/json",
            }
            if content is not None:
                headers["Content-Type"] = "application/json"
            return await guarded.request(
                method,
                url,
                field="params.baseUrl",
                headers=traced(headers, ctx.run.trace),
                content=content,
                timeout=timeout,
                body_limit=_BODY_LIMIT,
            )

        created = await call("POST", f"{root}/exports", json.dumps(body).encode())
        data = _json(created, "create export")
        if created.status_code >= 300 or not data.get("id"):
            raise PayloadFailedError(
                f"the Export Service refused the export ({created.status_code}): "
                f"{_service_error(data)}",
                "params.baseUrl",
                {"statusCode": created.status_code},
            )
        export_id = str(data["id"])
        status = str(data.get("status", "pending"))
        polls = 0
        while status in _IN_PROGRESS and polls < params.max_polls:
            await asyncio.sleep(interval)
            polls += 1
            reply = await call("GET", f"{root}/exports/{export_id}/status")
            data = _json(reply, "export status")
            if reply.status_code >= 300:
                raise PayloadFailedError(
                    f"export {export_id}: status request failed ({reply.status_code}): "
                    f"{_service_error(data)}",
                    "params.baseUrl",
                    {"exportId": export_id, "statusCode": reply.status_code, "polls": polls},
                )
            status = str(data.get("status", ""))
    details = {"exportId": export_id, "status": status, "polls": polls, "format": params.format}
    if status == "complete":
        url = f"{root}/exports/{export_id}"
        return Result.succeeded(f"export {export_id} complete: {url}", downloadUrl=url, **details)
    if status == "failed":
        return Result.failed(
            f"export {export_id} failed: {_service_error(data)}",
            error=_service_error(data),
            **details,
        )
    if status in _IN_PROGRESS:
        return Result.failed(
            f"export {export_id} still {status} after {params.max_polls} polls every "
            f"{params.poll_interval}; raise params.maxPolls or params.pollInterval",
            **details,
        )
    return Result.failed(f"export {export_id}: unknown status {status!r}", **details)
