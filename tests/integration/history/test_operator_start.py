"""How the operator's history side starts: a misconfigured database stops it with a clear
message; an unreachable one does not stop scheduling, and is used once it answers."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import psycopg
import pytest

from almanac.core.runs import JobObservation
from almanac.core.status import RunPhase, TriggerKind
from almanac.history import DatabaseConfigError
from almanac.operator.history import HistoryService
from almanac.operator.kube import ObjectRef
from almanac.operator.observability import Metrics
from almanac.operator.recording import run_record
from tests.integration.history.conftest import through
from tests.integration.history.proxy import LateProxy
from tests.support import eventually
from tests.support.operator import OperatorProcess


def _wrong_password(dsn: str) -> str:
    parts = urlsplit(dsn)
    user = parts.netloc.split(":", 1)[0]
    return urlunsplit(
        parts._replace(netloc=f"{user}:not-the-password@{parts.netloc.rsplit('@')[1]}")
    )


async def test_wrong_password_is_a_start_up_error_naming_the_variable(dsn: str) -> None:
    with pytest.raises(DatabaseConfigError) as caught:
        await HistoryService.open(Metrics(), {"ALMANAC_DATABASE_URL": _wrong_password(dsn)})
    assert caught.value.reason == "auth"
    assert "ALMANAC_DATABASE_URL" in str(caught.value) or "credentials" in str(caught.value)
    assert "not-the-password" not in str(caught.value)


def test_operator_with_a_wrong_password_exits_2_with_one_clear_line(
    dsn: str, tmp_path: Path
) -> None:
    replica = OperatorProcess(
        "bad-dsn",
        f"almanac-test-{uuid.uuid4().hex[:6]}",
        "default",
        tmp_path / "operator.log",
        env={"ALMANAC_DATABASE_URL": _wrong_password(dsn)},
    )
    replica.start()
    assert replica.process is not None
    assert replica.process.wait(60) == 2
    text = replica.log_text()
    assert "almanac operator: ALMANAC_DATABASE_URL" in text
    assert "fix the credentials" in text
    assert "not-the-password" not in text


async def test_unreachable_at_start_up_buffers_then_writes_when_postgres_answers(
    dsn: str, proxy: LateProxy
) -> None:
    service = await HistoryService.open(
        Metrics(), {"ALMANAC_DATABASE_URL": through(dsn, proxy.port)}
    )
    assert service.history is None  # started anyway
    service.start()
    uid = str(uuid.uuid4())
    slot = datetime.now(UTC).replace(microsecond=0)
    done = JobObservation("late-1", slot, TriggerKind.SCHEDULE, 1, RunPhase.SUCCEEDED, slot, slot)
    try:
        service.recorder.record(run_record(ObjectRef("ns", "late", uid), "command", done))
        await eventually(lambda: service.recorder.problem, timeout=30, what="degraded")
        assert service.recorder.buffer.backlog == 1
        await proxy.start()
        await eventually(lambda: service.recorder.healthy, timeout=60, what="recovered")
    finally:
        await service.aclose()
    with psycopg.connect(dsn) as conn:
        row = conn.execute(
            "SELECT status FROM job_runs WHERE scheduledjob_uid = %s", (uid,)
        ).fetchone()
    assert row == ("Succeeded",)
