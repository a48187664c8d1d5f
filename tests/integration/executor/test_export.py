"""The export payload against a fake Export Service speaking the seed's REST flow."""

from __future__ import annotations

from typing import Any

from tests.integration.executor.conftest import RunExecutor
from tests.integration.executor.peers import ExportServiceFake

ALLOW = {"ALMANAC_HTTP_ALLOW_CIDRS": "127.0.0.1/32"}
SOURCES = [{"application": "inventory", "resource": "hosts", "filters": {"os_filter": "RHEL"}}]


def params(service: ExportServiceFake, name: str, **extra: Any) -> dict[str, Any]:
    root = f"{service.base_url}{ExportServiceFake.ROOT}"
    return {
        "baseUrl": root,
        "name": name,
        "format": "csv",
        "sources": SOURCES,
        "pollInterval": "20ms",
    } | extra


def test_complete_export_reports_the_download_url(
    run_executor: RunExecutor, export_service: ExportServiceFake
) -> None:
    run = run_executor("export", params(export_service, "Inventory Export"), **ALLOW)
    assert run.code == 0, run.result
    (export_id,) = export_service.exports
    expected = f"{export_service.base_url}/api/export/v1/exports/{export_id}"
    assert run.details["downloadUrl"] == expected
    assert run.details["polls"] == 2
    assert export_service.exports[export_id]["sources"] == SOURCES
    identity = export_service.identities[0]["identity"]
    assert identity["org_id"] == "000101"  # from the org-000101 namespace
    request_ids = {r.headers["x-insights-request-id"] for r in export_service.requests}
    assert len(request_ids) == len(export_service.requests) == 3


def test_failed_export_carries_the_service_error(
    run_executor: RunExecutor, export_service: ExportServiceFake
) -> None:
    run = run_executor("export", params(export_service, "fail"), **ALLOW)
    assert run.code == 1
    assert run.result["summary"].endswith("failed: inventory/hosts: inventory timed out")


def test_poll_exhaustion_fails_naming_the_limit(
    run_executor: RunExecutor, export_service: ExportServiceFake
) -> None:
    run = run_executor("export", params(export_service, "stuck", maxPolls=3), **ALLOW)
    assert run.code == 1
    assert "still running after 3 polls" in run.result["summary"]
    assert len(export_service.requests) == 4


def test_org_id_param_overrides_the_namespace(
    run_executor: RunExecutor, export_service: ExportServiceFake
) -> None:
    run = run_executor("export", params(export_service, "x", orgId="42"), **ALLOW)
    assert run.code == 0
    assert export_service.identities[0]["identity"]["org_id"] == "42"


def test_refused_create_reports_the_service_message(
    run_executor: RunExecutor, export_service: ExportServiceFake
) -> None:
    run = run_executor("export", params(export_service, "x", orgId="0"), **ALLOW)
    assert run.code == 1
    assert run.result["summary"] == (
        "params.baseUrl: the Export Service refused the export (403): organisation 0 may not export"
    )


def test_export_service_on_an_internal_address_is_refused(
    run_executor: RunExecutor, export_service: ExportServiceFake
) -> None:
    run = run_executor("export", params(export_service, "Inventory Export"))
    assert run.details["error"] == "refused_target"
    assert export_service.requests == []
