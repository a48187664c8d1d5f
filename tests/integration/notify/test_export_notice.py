"""Seed 000's headline flow end to end: an export runs (create, poll, download URL) and its
completion notice, read back from the stack's Kafka, carries the link, the export's id, the
organisation and account it ran as, and the seed's ``complete``.

Each hop is the real one: the executor as a subprocess against the Export Service fake,
its termination message turned into the history record by the operator's ``run_record``,
the record and its notice committed to Postgres, the outbox relay publishing to Kafka.
"""

from __future__ import annotations

import json
import subprocess
import sys
import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, Final

import pytest
from aiokafka import AIOKafkaConsumer
from psycopg_pool import AsyncConnectionPool

from almanac.core.kafkanames import NAMESPACE_HEADER
from almanac.core.runs import JobObservation
from almanac.core.status import RunPhase, TriggerKind
from almanac.history import PostgresRunStore, RunRecord
from almanac.notify import KafkaPublisher, NotifySettings, OutboxRelay, messages_for_run
from almanac.operator.kube import ObjectRef, RunOutcome
from almanac.operator.recording import run_record
from tests.integration.executor.conftest import RUN_ENV, RUN_TIMEOUT, executor_env
from tests.integration.executor.peers import ExportServiceFake, serve
from tests.support import eventually
from tests.support.kafka import reading

#: A namespace whose name names no organisation: only the label (via params) does.
NAMESPACE: Final = "acme-analytics"
#: What the facade writes into an export's params: the namespace's org, the creator's identity.
IDENTITY: Final = {"orgId": "7310042", "accountNumber": "5512200", "username": "jdoe"}
SLOT: Final = datetime(2026, 1, 1, 2, tzinfo=UTC)


@pytest.fixture
def export_service() -> Iterator[ExportServiceFake]:
    with serve(ExportServiceFake()) as peer:
        assert isinstance(peer, ExportServiceFake)
        yield peer


@pytest.fixture
async def consumer(settings: NotifySettings) -> AsyncIterator[AIOKafkaConsumer]:
    async with reading(settings.bootstrap or "", settings.notify_topic) as c:
        yield c


@dataclass(frozen=True)
class Outbox:
    """The path a notice takes after the record: committed rows, a relay, a topic."""

    store: PostgresRunStore
    pool: AsyncConnectionPool
    settings: NotifySettings
    consumer: AIOKafkaConsumer


@pytest.fixture
def outbox(
    store: PostgresRunStore,
    pool: AsyncConnectionPool,
    settings: NotifySettings,
    consumer: AIOKafkaConsumer,
) -> Outbox:
    return Outbox(store, pool, settings, consumer)


def run_export(tmp_path: Path, service: ExportServiceFake, name: str) -> RunRecord:
    """Run the export payload as its pod would; the final record the operator makes of it."""
    params = {
        "baseUrl": f"{service.base_url}{ExportServiceFake.ROOT}",
        "name": name,
        "format": "csv",
        "sources": [{"application": "inventory", "resource": "hosts"}],
        "pollInterval": "20ms",
    } | IDENTITY
    (tmp_path / "secrets").mkdir(exist_ok=True)
    env = executor_env(
        tmp_path,
        tmp_path / "secrets",
        "export",
        params,
        ALMANAC_NAMESPACE=NAMESPACE,
        ALMANAC_HTTP_ALLOW_CIDRS="127.0.0.1/32",
    )
    done = subprocess.run(
        [sys.executable, "-m", "almanac.executor"],
        env=env,
        capture_output=True,
        text=True,
        timeout=RUN_TIMEOUT,
        check=False,
    )
    message = (tmp_path / "result-export.json").read_text()
    job = JobObservation(
        name=RUN_ENV["ALMANAC_RUN"],
        slot=SLOT,
        trigger=TriggerKind.SCHEDULE,
        attempt=1,
        phase=RunPhase.SUCCEEDED if done.returncode == 0 else RunPhase.FAILED,
        start_time=SLOT,
        completion_time=SLOT + timedelta(seconds=5),
    )
    ref = ObjectRef(NAMESPACE, "nightly-export", str(uuid.uuid4()))
    # The operator records the job's admitted params with the run (an export's identity).
    return run_record(
        ref, "export", job, RunOutcome(message, done.returncode, "pod-1"), params=params
    )


async def _all_delivered(relay: OutboxRelay, pool: AsyncConnectionPool) -> bool:
    await relay.relay_once()
    async with pool.connection() as conn:
        cur = await conn.execute("SELECT count(*) FROM outbox WHERE delivered_at IS NULL")
        row = await cur.fetchone()
    return row is not None and row[0] == 0


async def notice_on_kafka(
    record: RunRecord, outbox: Outbox
) -> tuple[dict[str, Any], dict[str, bytes]]:
    """Commit ``record`` with its messages, relay the outbox, read its notice back."""
    await outbox.store.record_run(record, messages_for_run(record, outbox.settings))
    relay = OutboxRelay(outbox.pool, KafkaPublisher(outbox.settings.bootstrap or ""))
    try:
        await eventually(
            lambda: _all_delivered(relay, outbox.pool), timeout=60, interval=0.2, what="relayed"
        )
    finally:
        await relay.aclose()
    found: list[tuple[dict[str, Any], dict[str, bytes]]] = []

    async def read() -> bool:
        for batch in (await outbox.consumer.getmany(timeout_ms=500)).values():
            for message in batch:
                body = json.loads(message.value)
                if body["context"]["job_id"] == record.scheduledjob_uid:
                    found.append((body, dict(message.headers)))
        return bool(found)

    await eventually(read, timeout=60, interval=0.1, what="the notice on Kafka")
    assert len({body["id"] for body, _ in found}) == 1
    return found[0]


async def test_a_complete_export_notice_carries_link_org_and_account(
    tmp_path: Path, export_service: ExportServiceFake, outbox: Outbox
) -> None:
    record = run_export(tmp_path, export_service, "Inventory Export")
    assert record.phase is RunPhase.SUCCEEDED, record.result

    notice, headers = await notice_on_kafka(record, outbox)

    (export_id,) = export_service.exports
    root = f"{export_service.base_url}{ExportServiceFake.ROOT}"
    assert notice["event_type"] == "export-completed"
    assert (notice["version"], notice["bundle"]) == ("v1.2.0", "rhel")
    assert notice["org_id"] == "7310042"
    assert notice["account_id"] == "5512200"
    assert notice["context"]["status"] == "complete"
    assert notice["context"]["export_id"] == export_id
    assert notice["context"]["download_url"] == f"{root}/exports/{export_id}"
    assert headers[NAMESPACE_HEADER] == NAMESPACE.encode()
    # The notice names the identity the Export Service saw at create, no other.
    created = export_service.identities[0]["identity"]
    assert (created["org_id"], created["account_number"]) == ("7310042", "5512200")


async def test_a_failed_export_notice_says_failed_with_the_export_and_error(
    tmp_path: Path, export_service: ExportServiceFake, outbox: Outbox
) -> None:
    record = run_export(tmp_path, export_service, "fail")
    assert record.phase is RunPhase.FAILED, record.result

    notice, _ = await notice_on_kafka(record, outbox)

    (export_id,) = export_service.exports
    context = notice["context"]
    assert (notice["org_id"], notice["account_id"]) == ("7310042", "5512200")
    assert context["status"] == "failed"
    assert context["export_id"] == export_id
    assert "download_url" not in context
    assert context["error"] == f"export {export_id} failed: inventory/hosts: inventory timed out"
