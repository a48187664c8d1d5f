"""The facade's limits with the in-memory history: manual runs per user per hour (counted
from the audit log and the rows still queued for it), and jobs per organisation."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from prometheus_client import CollectorRegistry, Counter

from almanac.api.audit import AuditWriter
from almanac.api.errors import TooManyRequestsError
from almanac.api.identity import Identity
from almanac.api.limits import Limits
from almanac.history.records import AuditEntry
from tests.support.runstore import InMemoryRunStore

NOW = datetime(2026, 12, 3, 12, 0, tzinfo=UTC)
ANN = Identity(org_id="101", username="ann")
BOB = Identity(org_id="101", username="bob")


def _limits(store: InMemoryRunStore, per_hour: int = 3, **kw: object) -> Limits:
    return Limits(store, AuditWriter(store), lambda: NOW, manual_runs_per_hour=per_hour, **kw)  # type: ignore[arg-type]


def _ran(who: Identity, at: datetime, action: str = "run") -> AuditEntry:
    return AuditEntry("org-101", "nightly", who.actor, action, at, org_id=who.org_id)


async def _ask(limits: Limits, who: Identity) -> None:
    async with limits.manual_run(who):
        await limits.audit.submit(_ran(who, NOW))


async def test_the_run_over_the_hourly_limit_is_a_429_naming_it() -> None:
    limits = _limits(InMemoryRunStore())
    for _ in range(3):
        await _ask(limits, ANN)
    with pytest.raises(TooManyRequestsError, match=r"3 manual runs .* the most allowed \(3\)"):
        await _ask(limits, ANN)
    await limits.audit.aclose()


async def test_rows_still_queued_for_the_audit_log_count() -> None:
    store = InMemoryRunStore()
    limits = _limits(store)
    for _ in range(3):
        limits.audit._unwritten[("101", "ann", "run")] += 1  # submitted, not yet written
    assert await store.count_audit("101", "ann", ("run",), NOW - timedelta(hours=1)) == 0
    with pytest.raises(TooManyRequestsError):
        await _ask(limits, ANN)


async def test_runs_and_retries_older_than_an_hour_do_not_count_and_users_are_apart() -> None:
    store = InMemoryRunStore()
    store.audit += [_ran(ANN, NOW - timedelta(minutes=61))] * 5
    store.audit += [_ran(ANN, NOW - timedelta(minutes=5), "retry")] * 2
    limits = _limits(store)
    await _ask(limits, ANN)  # the third in the hour
    with pytest.raises(TooManyRequestsError):
        await _ask(limits, ANN)
    await _ask(limits, BOB)  # control: another member of the same org
    await limits.audit.aclose()


async def test_an_unreadable_history_allows_the_run_and_counts_the_failure() -> None:
    store = InMemoryRunStore()
    failures = Counter("f", "f", registry=CollectorRegistry())
    limits = _limits(store, failures=failures)
    store.fail_next(1)
    async with limits.manual_run(ANN):
        pass
    assert failures._value.get() == 1


async def test_zero_means_no_limit() -> None:
    store = InMemoryRunStore()
    store.audit += [_ran(ANN, NOW)] * 50
    async with _limits(store, per_hour=0).manual_run(ANN):
        pass


@pytest.mark.parametrize(("jobs", "refused"), [(1, False), (2, True), (3, True)])
def test_jobs_per_organisation(jobs: int, refused: bool) -> None:
    limits = _limits(InMemoryRunStore(), max_jobs_per_org=2)
    if not refused:
        limits.check_job_count(ANN, jobs)
        return
    with pytest.raises(TooManyRequestsError, match="ALMANAC_API_MAX_JOBS_PER_ORG"):
        limits.check_job_count(ANN, jobs)
