"""A backfill asked for by annotation: the pass's :class:`~almanac.core.actions.AskRun`
actions become RunRequests owned by the ScheduledJob, named as the facade names them."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from almanac.core.actions import AskRun
from almanac.core.runrequests import backfill_request
from almanac.core.runs import builtin_template
from almanac.operator.observability import Metrics
from almanac.operator.scheduler import Scheduler
from tests.support.jobbodies import NOW, created_body


class Api:
    """RunRequests as the API server keeps them."""

    def __init__(self) -> None:
        self.requests: dict[str, dict[str, Any]] = {}

    async def create_run_request(self, namespace: str, body: dict[str, Any]) -> bool:
        created = body["metadata"]["name"] not in self.requests
        self.requests.setdefault(body["metadata"]["name"], body)
        return created


async def test_asked_runs_are_stored_as_the_facade_stores_a_backfill() -> None:
    api = Api()
    s = Scheduler(api, Metrics(), image="img", clock=lambda: NOW)  # type: ignore[arg-type]
    body = created_body()
    s.scheduledjob_event(body, deleted=False)
    meta = body["metadata"]
    t = s.find(meta["namespace"], meta["name"])
    assert t is not None
    slot = datetime(2026, 2, 28, 9, 0, tzinfo=UTC)
    name, spec = backfill_request(meta["name"], meta["uid"], slot)
    template = builtin_template("command", "img")
    await s.carry_out(t, template, (AskRun(name, spec), AskRun(name, spec)), NOW)
    (stored,) = api.requests.values()
    assert stored["spec"]["kind"] == "backfill"
    assert stored["metadata"]["ownerReferences"][0]["uid"] == meta["uid"]
    assert stored["metadata"]["namespace"] == meta["namespace"]
