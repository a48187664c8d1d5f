"""Export run records made by the real export payload, for notice tests.

A hand-written result once spelt ``download_url`` where the payload writes ``downloadUrl``,
so the formatter's tests passed while no notice ever carried the link. Here the result is
whatever :func:`almanac.executor.payloads.export.execute` returns against an in-memory
Export Service, written by the executor's own :func:`write_result` and read back by the
operator's :func:`parse_result`: if any of the three changes its shape, these records do too.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Final

import httpx

from almanac.core.status import RunPhase
from almanac.executor.payloads.export import execute
from almanac.executor.result import write_result
from almanac.history import RunRecord
from almanac.operator.recording import parse_result
from tests.unit.executor.fakes import FakeResolver, RecordingPeer
from tests.unit.executor.support import make_context
from tests.unit.history.builders import finished, record

__all__ = ["EXPORT_ID", "ROOT", "export_record", "run_export"]

ROOT: Final = "https://exports.example.com/api/export/v1"
EXPORT_ID: Final = "0f8e6a3c-5d2b-4c1e-9a7f-2b3c4d5e6f70"
#: Resolves to a public address that is never connected to (the transport is in memory).
_HOSTS: Final = {"exports.example.com": ["93.184.216.40"]}


def _service(final: str) -> RecordingPeer:
    """The seed's Export Service: ``pending`` on create, ``final`` on the first poll."""

    def reply(request: httpx.Request) -> httpx.Response:
        if request.method == "POST":
            return httpx.Response(202, json={"id": EXPORT_ID, "status": "pending"})
        body: dict[str, Any] = {"id": EXPORT_ID, "status": final}
        if final == "failed":
            body["sources"] = [
                {"application": "inventory", "resource": "hosts", "message": "timed out"}
            ]
        return httpx.Response(200, json=body)

    return RecordingPeer(reply)


async def run_export(tmp_path: Path, final: str = "complete", **params: Any) -> str:
    """The termination message an export run writes when the service ends in ``final``."""
    raw = {
        "baseUrl": ROOT,
        "name": "Inventory Export",
        "format": "csv",
        "sources": [{"application": "inventory", "resource": "hosts"}],
        "pollInterval": "1ms",
    } | params
    peer = _service(final)
    context = make_context(
        tmp_path,
        "export",
        FakeResolver(_HOSTS),
        http_transport=httpx.MockTransport(peer.handle),
        **raw,
    )
    result = await execute(raw, context)
    path = tmp_path / "termination-log"
    write_result(result, path)
    return path.read_text()


def export_record(
    message: str,
    phase: RunPhase = RunPhase.SUCCEEDED,
    *,
    namespace: str = "org-000101",
    params: dict[str, Any] | None = None,
) -> RunRecord:
    """The final history record the operator makes of an export run that wrote ``message``."""
    result, error = parse_result(message)
    fields: dict[str, Any] = {"result": result, "params": params}
    if error is not None:
        fields["error"] = error
    return finished(phase, record(namespace=namespace), **fields)
