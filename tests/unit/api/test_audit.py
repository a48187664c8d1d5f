"""The background audit writer: rows written in order after the caller moved on, drained on
close, failures logged and counted without stopping later rows."""

from __future__ import annotations

import asyncio
import logging
from datetime import UTC, datetime

import pytest
from prometheus_client import CollectorRegistry, Counter

from almanac.api.audit import AuditWriter
from almanac.history.records import AuditEntry
from tests.support.runstore import InMemoryRunStore

AT = datetime(2026, 12, 1, 10, 0, 0, tzinfo=UTC)
SOON = 5.0  # a submit that should not wait for the (held) write fails instead of hanging


def _entry(action: str, job: str = "nightly-ab12c") -> AuditEntry:
    return AuditEntry(
        namespace="org-101", scheduledjob=job, actor="jdoe", action=action, at=AT, org_id="101"
    )


def _failures() -> tuple[Counter, CollectorRegistry]:
    registry = CollectorRegistry()
    return Counter("audit_failures", "test", registry=registry), registry


def _failed(registry: CollectorRegistry) -> float | None:
    return registry.get_sample_value("audit_failures_total")


class GatedStore(InMemoryRunStore):
    """Holds every audit write until :attr:`gate` is set; :attr:`started` says one began."""

    def __init__(self) -> None:
        super().__init__()
        self.gate = asyncio.Event()
        self.started = asyncio.Event()

    async def record_audit(self, entry: AuditEntry) -> None:
        self.started.set()
        await self.gate.wait()
        await super().record_audit(entry)


async def test_rows_are_written_in_submission_order_and_drained_on_close() -> None:
    store = InMemoryRunStore()
    writer = AuditWriter(store)

    for action in ("create", "update", "delete"):
        await writer.submit(_entry(action))
    await writer.aclose()

    assert [e.action for e in store.audit] == ["create", "update", "delete"]


async def test_submit_returns_before_the_row_is_written() -> None:
    store = GatedStore()
    writer = AuditWriter(store)

    await asyncio.wait_for(writer.submit(_entry("create")), SOON)
    await store.started.wait()
    assert store.audit == []

    store.gate.set()
    await writer.aclose()
    assert [e.action for e in store.audit] == ["create"]


async def test_failed_write_is_logged_and_counted_and_later_rows_still_written(
    caplog: pytest.LogCaptureFixture,
) -> None:
    store = InMemoryRunStore()
    store.fail_next(1)
    counter, registry = _failures()
    writer = AuditWriter(store, counter)

    with caplog.at_level(logging.ERROR, logger="almanac.api"):
        await writer.submit(_entry("create", job="first"))
        await writer.submit(_entry("create", job="second"))
        await writer.aclose()

    assert [e.scheduledjob for e in store.audit] == ["second"]
    assert _failed(registry) == 1.0
    [record] = [r for r in caplog.records if r.getMessage() == "audit write failed"]
    assert (record.action, record.namespace) == ("create", "org-101")  # type: ignore[attr-defined]


async def test_a_full_queue_makes_submit_wait_and_loses_no_row() -> None:
    store = GatedStore()
    writer = AuditWriter(store, capacity=1)

    await asyncio.wait_for(writer.submit(_entry("create")), SOON)
    # waits until the writer took "create" off the queue
    await asyncio.wait_for(writer.submit(_entry("update")), SOON)
    third = asyncio.create_task(writer.submit(_entry("delete")))
    store.gate.set()
    await third
    await writer.aclose()

    assert [e.action for e in store.audit] == ["create", "update", "delete"]


async def test_rows_still_unwritten_when_close_times_out_are_counted() -> None:
    store = GatedStore()  # the database never answers
    counter, registry = _failures()
    writer = AuditWriter(store, counter)
    await asyncio.wait_for(writer.submit(_entry("create")), SOON)
    await asyncio.wait_for(writer.submit(_entry("update")), SOON)
    await store.started.wait()  # "create" is being written, "update" is queued

    await writer.aclose(timeout=0)

    assert store.audit == []
    assert _failed(registry) == 2.0


async def test_submit_after_close_writes_before_returning() -> None:
    store = InMemoryRunStore()
    writer = AuditWriter(store)
    await writer.aclose()

    await writer.submit(_entry("delete"))

    assert [e.action for e in store.audit] == ["delete"]
