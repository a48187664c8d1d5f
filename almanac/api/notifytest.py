"""``POST /jobs/{job_id}/notifications/test``: a test message to each of a job's targets.

The facade does not send anything itself: its network position and settings are not the
operator's, and one sender (the leader's courier) means one egress guard, one SMTP login
and one place where delivery is counted. It stores one test delivery per
``spec.notifications`` entry in the deliveries table (the same rows a run's outcome makes,
ids of their own) and waits, a bounded time, for the courier's verdict on each: the answer
is 200 when every one is settled (delivered, or failed with the reason: a test is tried
once), 202 with the rest ``pending`` otherwise.

Tenancy is the other routes': the job is looked up in the caller's organisation namespace
(another organisation's job is a 404), and sending is a change a member may make only to
the jobs they created. A test is not rate-limited by the job's hourly budget, so it counts
against the caller's manual runs (``ALMANAC_API_MANUAL_RUNS_PER_HOUR``, 429 past it).
"""

from __future__ import annotations

import asyncio
import time
import uuid
from datetime import datetime
from typing import TYPE_CHECKING, Any, Final, Literal

from pydantic import BaseModel, Field, ValidationError

from almanac.api.errors import BadRequestError
from almanac.api.identity import Identity
from almanac.core.notifymodels import Notification
from almanac.core.notifyrules import run_link
from almanac.history import HistoryNotConfiguredError
from almanac.notify.deliveries import DeliveryState, enqueue, states
from almanac.notify.fanout import fan_out
from almanac.notify.messages import TEST, Notice

if TYPE_CHECKING:
    from almanac.api.service import JobService

__all__ = ["NotificationTestReport", "NotificationTestResult", "send_test"]

#: How long the answer waits for the courier's verdicts.
WAIT_SECONDS: Final = 15.0
_POLL: Final = 0.25


class NotificationTestResult(BaseModel):
    """What became of the test message to one target."""

    entry: int = Field(description="Index in the job's notifications.")
    channel: Literal["email", "webhook", "kafka"]
    delivery_id: str = Field(description="Id of the message (Almanac-Delivery-Id, Message-ID).")
    outcome: Literal["delivered", "failed", "retrying", "pending"] = Field(
        description="`pending`: the operator has not sent it yet (no leader, or still going)."
    )
    error: str | None = Field(None, description="Why it failed.")


class NotificationTestReport(BaseModel):
    """The test messages of one job, one per target."""

    job_id: str
    results: list[NotificationTestResult]

    @property
    def settled(self) -> bool:
        return all(r.outcome in ("delivered", "failed") for r in self.results)


def _entries(obj: dict[str, Any]) -> list[Notification]:
    raw = (obj.get("spec") or {}).get("notifications") or []
    try:
        entries = [Notification.model_validate(item) for item in raw]
    except ValidationError:
        entries = []
    if not entries:
        raise BadRequestError(
            "the job has no notifications to test; set notifications (spec.notifications) first",
            "notifications",
        )
    return entries


def _result(state: DeliveryState | None, entry: int, channel: str, delivery_id: str) -> Any:
    if state is None:
        return NotificationTestResult(
            entry=entry, channel=channel, delivery_id=delivery_id, outcome="pending"
        )
    return NotificationTestResult(
        entry=entry,
        channel=state.channel,
        delivery_id=delivery_id,
        outcome=state.outcome,
        error=state.error,
    )


async def send_test(
    jobs: JobService, who: Identity, job_id: str, *, link_base: str | None = None
) -> NotificationTestReport:
    """Store a test delivery per target of ``job_id`` and report their outcomes."""
    namespace = await jobs.namespace(who)
    obj = await jobs.kube.get_job(namespace, job_id)
    jobs.roles.check_change(who, obj, "test the notifications of")
    entries = _entries(obj)
    pool = getattr(jobs.store, "pool", None)
    if pool is None:
        raise HistoryNotConfiguredError(
            "test notifications go through the run history (Postgres), which is off in this "
            "installation; give the chart postgres.dsnSecret",
            "history",
        )
    meta = obj["metadata"]
    now: datetime = jobs.clock()
    notice = Notice(
        namespace, meta["name"], meta["uid"], TEST, now, link=run_link(link_base, meta["uid"], None)
    )
    deliveries = fan_out(entries, notice, subject=f"test-{uuid.uuid4().hex}")
    # Counted with run-now and retry: a test goes to whatever addresses the job names.
    async with jobs.limits.manual_run(who):
        await enqueue(pool, deliveries)
        await jobs.record_action(who, namespace, obj, "test-notifications")
    ids = [d.delivery_id for d in deliveries]
    deadline = time.monotonic() + WAIT_SECONDS
    while True:
        found = {s.delivery_id: s for s in await states(pool, ids)}
        report = NotificationTestReport(
            job_id=job_id,
            results=[
                _result(found.get(d.delivery_id), d.entry, d.channel, d.delivery_id)
                for d in deliveries
            ],
        )
        if report.settled or time.monotonic() >= deadline:
            return report
        await asyncio.sleep(_POLL)
