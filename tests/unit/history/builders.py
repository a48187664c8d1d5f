"""Run records for tests, with readable defaults and fixed anchors."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

from almanac.core.status import RunPhase
from almanac.history import RunRecord

__all__ = ["SLOT", "UID", "finished", "record", "running"]

SLOT = datetime(2026, 3, 1, 2, 0, tzinfo=UTC)
UID = "0b6c3a52-1111-4222-8333-944455556666"


def record(
    phase: RunPhase = RunPhase.PENDING,
    *,
    run: str = "nightly-202603010200",
    uid: str = UID,
    namespace: str = "org-000101",
    name: str = "nightly",
    slot: datetime = SLOT,
    **fields: Any,
) -> RunRecord:
    return RunRecord(
        namespace=namespace,
        scheduledjob=name,
        scheduledjob_uid=uid,
        run_name=run,
        slot=slot,
        phase=phase,
        template=fields.pop("template", "export"),
        **fields,
    )


def running(base: RunRecord | None = None, **fields: Any) -> RunRecord:
    base = base or record()
    defaults: dict[str, Any] = {"started_at": base.slot + timedelta(seconds=2), "pod": "pod-1"}
    return replace(base, phase=RunPhase.RUNNING, **(defaults | fields))


def finished(
    phase: RunPhase = RunPhase.SUCCEEDED,
    base: RunRecord | None = None,
    *,
    seconds: float = 30,
    **fields: Any,
) -> RunRecord:
    base = running(base)
    assert base.started_at is not None
    defaults: dict[str, Any] = {
        "finished_at": base.started_at + timedelta(seconds=seconds),
        "exit_code": 0 if phase == RunPhase.SUCCEEDED else 1,
        "result": {"status": "ok", "summary": "done", "details": {"downloadUrl": "http://x/e"}},
    }
    if phase == RunPhase.FAILED:
        defaults["error"] = "exit code 1"
    defaults.update(fields)
    return replace(base, phase=phase, **defaults)
