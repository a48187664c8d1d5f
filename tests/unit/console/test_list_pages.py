"""The jobs list at 1,000 jobs in one organisation: pages of 50, every filter applied
before paging. Its speed (#24: p95 ≤ 300 ms server time) is measured by
``hack/bench/console_bench.py`` on the stack, not here: a timed test fails on a busy
machine and says nothing on an idle one (docs/benchmarks.md has the figures).
"""

from __future__ import annotations

from almanac.api.mapping import new_manifest
from tests.unit.console.fakes import NOW, console
from tests.unit.console.pages import User

JOBS = 1000


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


async def test_a_thousand_jobs_list_fifty_a_page_with_filters_before_paging() -> None:
    async with console() as site:
        seed(site.kube, "101", JOBS)
        ann = User(site, "101", "ann", admin=True)
        last = await ann.get("/jobs", page="20")
        assert last.status_code == 200
        assert last.text.count("data-job-id=") == 50
        assert "Report 0999" in last.text or "Report 0000" in last.text
        odd = await ann.get("/jobs", tag="odd", q="report", page="10")
        assert odd.text.count("data-job-id=") == 50, "500 odd jobs: the tenth page is full"
        assert "500 jobs, page 10 of 10" in odd.text
        beyond = await ann.get("/jobs", tag="odd", q="report", page="11")
        assert "page 10 of 10" in beyond.text, "a page past the end shows the last one"
