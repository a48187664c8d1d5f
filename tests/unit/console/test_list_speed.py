"""The jobs list at 1,000 jobs in one organisation: p95 ≤ 300 ms server time (#24).

Measured in process (the ASGI call, without a socket), so it is the facade's own time:
the watched copy of the namespace is in memory, as :class:`~almanac.api.cache.JobCache`
holds it in production.
"""

from __future__ import annotations

import statistics
import time

from almanac.api.mapping import new_manifest
from tests.unit.console.fakes import NOW, console
from tests.unit.console.pages import User

JOBS = 1000
REQUESTS = 20
P95_SECONDS = 0.300


def seed(kube: object, org_id: str, count: int) -> None:
    """``count`` ScheduledJobs as the facade writes them, with the operator's status."""
    jobs = kube.jobs  # type: ignore[attr-defined]
    for index in range(count):
        body = new_manifest(
            {
                "name": f"Report {index:04d}",
                "type": "command",
                "payload": {"command": ["echo", str(index)]},
                "schedule": f"{index % 60} {index % 24} * * *",
                "timezone": "Europe/Berlin",
                "tags": ["even" if index % 2 == 0 else "odd"],
            },
            namespace=f"org-{org_id}",
            org_id=org_id,
            actor="ann",
            suffix=f"{index:05d}",
        )
        body["metadata"] |= {"uid": f"uid-{index:05d}", "creationTimestamp": NOW.isoformat()}
        body["status"] = {
            "nextRunTime": "2026-03-03T01:00:00Z",
            "lastRun": {"phase": "Succeeded" if index % 3 else "Failed"},
        }
        jobs[(f"org-{org_id}", body["metadata"]["name"])] = body


async def test_the_list_of_a_thousand_jobs_answers_within_300_ms_at_p95() -> None:
    async with console() as site:
        seed(site.kube, "101", JOBS)
        ann = User(site, "101", "ann", admin=True)
        timings: list[float] = []
        for index in range(REQUESTS):
            query = {"page": str(index % 20 + 1)} if index % 2 else {"tag": "odd", "q": "report"}
            start = time.perf_counter()
            reply = await ann.get("/jobs", **query)
            timings.append(time.perf_counter() - start)
            assert reply.status_code == 200
            assert reply.text.count("data-job-id=") == 50
        p95 = statistics.quantiles(timings, n=20)[-1]
        assert p95 <= P95_SECONDS, f"p95 {p95 * 1000:.0f} ms over {REQUESTS} lists of {JOBS} jobs"
