"""Builders of run contexts for in-process payload tests."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx

from almanac.executor.context import PayloadContext, ProducerFactory
from almanac.executor.environment import RunInfo, Settings
from almanac.executor.netguard import Resolver
from tests.unit.executor.fakes import FakeResolver

__all__ = ["RUN_ENV", "make_context"]

RUN_ENV = {
    "ALMANAC_RUN": "nightly-202601010200",
    "ALMANAC_SCHEDULEDJOB": "nightly",
    "ALMANAC_NAMESPACE": "org-000101",
    "ALMANAC_SLOT": "2026-01-01T02:00:00Z",
    "ALMANAC_ATTEMPT": "1",
    "ALMANAC_TRIGGER": "schedule",
}


def make_context(
    tmp_path: Path,
    template: str = "command",
    resolver: Resolver | None = None,
    *,
    settings: Settings | None = None,
    producers: ProducerFactory | None = None,
    http_transport: httpx.AsyncBaseTransport | None = None,
    **params: Any,
) -> PayloadContext:
    run = RunInfo(
        run="nightly-202601010200",
        scheduledjob="nightly",
        namespace="org-000101",
        template=template,
        params=params,
        slot=datetime(2026, 1, 1, 2, tzinfo=UTC),
        attempt=1,
        trigger="schedule",
    )
    settings = settings or Settings(
        result_path=tmp_path / "result.json", secrets_dir=tmp_path / "secrets"
    )
    return PayloadContext.create(
        run, settings, resolver or FakeResolver({}), producers, http_transport
    )
