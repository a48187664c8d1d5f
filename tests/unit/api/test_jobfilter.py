"""``GET /jobs`` filters and sorts: each filter alone, combined, and the stable order."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from almanac.api.jobfilter import JobFilter, select_jobs
from almanac.api.mapping import new_manifest


def stored(name: str, type_: str, by: str, created: str, **extra: Any) -> dict[str, Any]:
    """A ScheduledJob as the facade writes it, then as the API server returns it."""
    body: dict[str, Any] = {"name": name, "schedule": "0 0 * * *", "type": type_, **extra}
    obj = new_manifest(body, namespace="org-1", org_id="1", actor=by, suffix=name[:3].lower())
    obj["metadata"] |= {"uid": f"uid-{name}", "creationTimestamp": created}
    return obj


JOBS = [
    stored("Nightly export", "export", "ann", "2026-11-02T00:00:00Z", payload={}, tags=["a"]),
    stored(
        "Ping",
        "http_request",
        "bob",
        "2026-11-01T00:00:00Z",
        payload={"url": "https://x"},
        tags=["a", "b"],
    ),
    stored("Weekly export", "export", "bob", "2026-11-03T00:00:00Z", payload={}),
]
# The operator's status: the next slot of each (none for the paused one).
JOBS[0]["status"] = {"nextRunTime": "2026-12-05T00:00:00Z"}
JOBS[1]["status"] = {"nextRunTime": "2026-12-04T12:00:00Z"}


def names(query: JobFilter) -> list[str]:
    return [job.name for job in select_jobs(JOBS, query)]


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        pytest.param(JobFilter(), ["Ping", "Nightly export", "Weekly export"], id="oldest-first"),
        pytest.param(
            JobFilter(sort="name"), ["Nightly export", "Ping", "Weekly export"], id="by-name"
        ),
        pytest.param(
            JobFilter(descending=True),
            ["Weekly export", "Nightly export", "Ping"],
            id="newest-first",
        ),
        pytest.param(JobFilter(type="export"), ["Nightly export", "Weekly export"], id="type"),
        pytest.param(JobFilter(tags=frozenset({"b", "z"})), ["Ping"], id="any-tag"),
        pytest.param(
            JobFilter(tags=frozenset({"a"})), ["Ping", "Nightly export"], id="any-tag-shared"
        ),
        pytest.param(JobFilter(tags_all=frozenset({"a", "b"})), ["Ping"], id="all-tags"),
        pytest.param(
            JobFilter(sort="next_run"),
            ["Ping", "Nightly export", "Weekly export"],
            id="by-next-run-none-last",
        ),
        pytest.param(
            JobFilter(next_run_after=datetime(2026, 12, 4, 12, tzinfo=UTC)),
            ["Ping", "Nightly export"],
            id="next-run-after-inclusive",
        ),
        pytest.param(
            JobFilter(next_run_before=datetime(2026, 12, 5, tzinfo=UTC)),
            ["Ping"],
            id="next-run-before-exclusive",
        ),
        pytest.param(JobFilter(type="http_request"), ["Ping"], id="type-alias"),
        pytest.param(
            JobFilter(name_contains="EXPORT"), ["Nightly export", "Weekly export"], id="contains"
        ),
        pytest.param(JobFilter(created_by="bob"), ["Ping", "Weekly export"], id="created-by"),
        pytest.param(
            JobFilter(created_after=datetime(2026, 11, 2, tzinfo=UTC)),
            ["Nightly export", "Weekly export"],
            id="created-after-inclusive",
        ),
        pytest.param(
            JobFilter(created_before=datetime(2026, 11, 2, tzinfo=UTC)),
            ["Ping"],
            id="created-before-exclusive",
        ),
        pytest.param(JobFilter(type="export", created_by="bob"), ["Weekly export"], id="combined"),
        pytest.param(JobFilter(name="Ping", status="paused"), [], id="status-and-name"),
    ],
)
def test_get_jobs_filters_and_sorts(query: JobFilter, expected: list[str]) -> None:
    assert names(query) == expected
