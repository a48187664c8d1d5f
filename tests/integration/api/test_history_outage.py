"""A Postgres outage takes only the history down: the facade stays ready (its readiness
needs the Kubernetes API only), jobs are still created and read, ``GET /health`` says
``degraded`` naming the database, and history reads answer 503 with ``Retry-After`` until
Postgres is back, then 200 again."""

from __future__ import annotations

import asyncio

import httpx

from tests.integration.api.conftest import FacadeProcess, Org
from tests.support import eventually
from tests.support.outage import stack_component


async def test_a_history_outage_leaves_jobs_working_and_history_reads_503(
    org: Org, facade: FacadeProcess
) -> None:
    job = org.create(name="Before the outage")
    runs = f"/jobs/{job['id']}/runs"
    assert org.request("GET", runs).status_code == 200
    stack_component("stop", "postgres")
    try:
        ready = await asyncio.to_thread(httpx.get, f"{facade.url}/readyz", timeout=10)
        assert ready.status_code == 200, ready.text
        during = org.create(name="During the outage")  # Kubernetes only: still works
        assert org.request("GET", f"/jobs/{during['id']}").status_code == 200
        for path in (runs, "/executions/before-00000-202611010200", "/metrics/summary"):
            down = org.request("GET", path)
            assert down.status_code == 503, (path, down.text)
            assert int(down.headers["retry-after"]) > 0
            assert down.json()["errors"][0]["field"] == "history"
        health = org.request("GET", "/health")
        assert health.status_code == 200, health.text
        assert health.json()["status"] == "degraded"
        assert health.json()["components"]["database"]["status"] == "down"
    finally:
        stack_component("start", "postgres")
    await eventually(
        lambda: org.request("GET", runs).status_code == 200,
        timeout=60,
        what="history reads after Postgres is back",
    )
