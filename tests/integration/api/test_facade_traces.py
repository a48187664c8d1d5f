"""Facade traces: a facade given an OTLP endpoint (a collector this test starts on
127.0.0.1) exports a span per request with the caller's org, never its identity header,
and a run-now's span links to the run's trace; the run JSON's ``trace_id`` is there
whether traces are exported or not (docs/observability.md, "Traces")."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest

from almanac.api import encode_identity
from almanac.core.status import RunPhase
from almanac.core.tracing import run_trace_id, span_id_of
from almanac.history import PostgresRunStore
from tests.integration.api.conftest import (
    DEFAULT_MESSAGE_TOPIC,
    EXPORT_SERVICE_URL,
    FacadeProcess,
    Org,
    history_run,
)
from tests.support import Kubectl, eventually
from tests.support.otlp import OtlpCollector, ReceivedSpan, otlp_collector

SERVER = 2  # SPAN_KIND_SERVER


@pytest.fixture(scope="module")
def collector() -> Iterator[OtlpCollector]:
    with otlp_collector() as received:
        yield received


@pytest.fixture(scope="module")
def traced_facade(
    crds: Kubectl, collector: OtlpCollector, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[FacadeProcess]:
    process = FacadeProcess(
        Path(tmp_path_factory.mktemp("traced-facade")) / "facade.log",
        env={
            "ALMANAC_EXPORT_SERVICE_URL": EXPORT_SERVICE_URL,
            "ALMANAC_API_DEFAULT_MESSAGE_TOPIC": DEFAULT_MESSAGE_TOPIC,
            "OTEL_EXPORTER_OTLP_ENDPOINT": collector.endpoint,
            "OTEL_BSP_SCHEDULE_DELAY": "200",
        },
    )
    process.start()
    try:
        yield process
    finally:
        process.stop()


@pytest.fixture
def traced_orgs(traced_facade: FacadeProcess, kubectl: Kubectl) -> Iterator[list[Org]]:
    """Two organisations calling the traced facade; their namespaces go afterwards."""
    made = []
    for _ in range(2):
        org_id = uuid.uuid4().hex[:10]
        identity = encode_identity(org_id, username="jdoe")
        http = httpx.Client(
            base_url=traced_facade.url, headers={"x-rh-identity": identity}, timeout=30
        )
        made.append(Org(org_id, http, kubectl.in_namespace(f"org-{org_id}")))
    yield made
    for org in made:
        org.http.close()
        kubectl.run("delete", "namespace", org.namespace, "--wait=false", "--ignore-not-found")


def request_span(collector: OtlpCollector, route: str, org_id: str) -> ReceivedSpan | None:
    for span in collector.spans:
        if (
            span.kind == SERVER
            and route in span.name
            and span.attributes.get("almanac.org_id") == org_id
        ):
            return span
    return None


async def test_a_run_now_request_is_a_span_with_the_org_linked_to_the_run(
    traced_orgs: list[Org], collector: OtlpCollector
) -> None:
    org, other = traced_orgs
    job = org.create(name="Traced", schedule="0 0 1 1 *")
    reply = org.request("POST", f"/jobs/{job['id']}/run", headers={"Idempotency-Key": "t1"})
    assert reply.status_code == 202, reply.text
    run_id = reply.json()["run_id"]
    # The control: another organisation asking for the same job is refused, and its span
    # carries its own org, not the job owner's.
    refused = other.request("POST", f"/jobs/{job['id']}/run")
    assert refused.status_code == 404

    route = "/jobs/{job_id}/run"
    span = await eventually(
        lambda: request_span(collector, route, org.org_id), timeout=30, what="run-now span"
    )
    trace = run_trace_id(job["id"], run_id)
    assert span.service == "almanac-api"
    assert span.attributes["almanac.run.trace_id"] == trace
    assert (trace, span_id_of(trace, "almanac.run")) in span.links
    refused_span = await eventually(
        lambda: request_span(collector, route, other.org_id), timeout=30, what="refused span"
    )
    assert "almanac.run.trace_id" not in refused_span.attributes
    identities = {org.http.headers["x-rh-identity"], other.http.headers["x-rh-identity"]}
    for received in collector.spans:
        for value in received.attributes.values():
            assert str(value) not in identities, f"{received.name} carries an identity header"


async def test_probes_are_not_traced(traced_orgs: list[Org], collector: OtlpCollector) -> None:
    org = traced_orgs[0]
    assert org.http.get("/readyz").status_code == 200
    assert org.request("GET", "/jobs").status_code == 200
    await eventually(
        lambda: request_span(collector, "/jobs", org.org_id), timeout=30, what="list span"
    )
    assert not [s for s in collector.spans if s.name.endswith("/readyz")]


async def test_run_json_carries_the_runs_trace_id_without_any_export(
    org: Org, store: PostgresRunStore
) -> None:
    job = org.create(name="Nightly")
    record = history_run(org, job, datetime(2026, 1, 27, tzinfo=UTC), RunPhase.SUCCEEDED)
    await store.record_run(record)
    reply = org.request("GET", f"/executions/{record.run_name}")
    assert reply.status_code == 200, reply.text
    assert reply.json()["trace_id"] == run_trace_id(job["id"], record.run_name)
    listed = org.request("GET", f"/jobs/{job['id']}/runs").json()["data"]
    assert [r["trace_id"] for r in listed] == [record.trace_id]
