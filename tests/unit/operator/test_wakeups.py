"""The scheduler's bookkeeping: a pass already queued for a time covers later pokes,
and observations (Job phases, trigger counters) wait briefly for more; the active-runs
gauge is a running total of each object's latest count; RunRequest echoes of a phase
settled here change nothing; launch bursts hold background writes, but not for ever; event
runs launch as many at once as their RunRequests are created."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from almanac.core.runrequests import (
    EventSource,
    RequestPhase,
    RunRequestSpec,
    run_request_body,
)
from almanac.operator import writer
from almanac.operator.observability import Metrics
from almanac.operator.scheduler import Scheduler
from almanac.operator.wakeups import COALESCE

from .objects import trigger_job

NOW = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)


def scheduler() -> Scheduler:
    return Scheduler(None, Metrics(), image="img", clock=lambda: NOW)  # type: ignore[arg-type]


def queued(s: Scheduler) -> list[tuple[datetime, tuple[str, str]]]:
    return s.wakeups.queued()


def test_a_queued_pass_covers_later_pokes_of_the_same_object() -> None:
    s = scheduler()
    s.poke(("ns", "a"))
    s.poke(("ns", "a"), NOW + timedelta(seconds=5))
    s.wakeups.observed(("ns", "a"))
    s.poke(("ns", "b"), NOW + timedelta(seconds=5))
    assert queued(s) == [(NOW, ("ns", "a")), (NOW + timedelta(seconds=5), ("ns", "b"))]


def test_an_earlier_poke_is_queued_ahead_of_a_later_one() -> None:
    s = scheduler()
    s.poke(("ns", "a"), NOW + timedelta(minutes=1))
    s.poke(("ns", "a"))
    assert queued(s)[0] == (NOW, ("ns", "a"))


def test_observations_are_coalesced_into_one_pass_shortly_after() -> None:
    s = scheduler()
    for _ in range(100):
        s.wakeups.observed(("ns", "a"))
    assert queued(s) == [(NOW + COALESCE, ("ns", "a"))]


def test_the_active_runs_gauge_follows_each_objects_latest_count() -> None:
    metrics = Metrics()
    s = Scheduler(None, metrics, image="img", clock=lambda: NOW)  # type: ignore[arg-type]
    s._count_active(("ns", "a"), 3)
    s._count_active(("ns", "b"), 2)
    s._count_active(("ns", "a"), 1)
    assert metrics.active._value.get() == 3
    s.forget("ns", "b")
    assert metrics.active._value.get() == 1


def request(name: str, *, phase: str = "Pending", due: datetime = NOW) -> dict[str, Any]:
    spec = RunRequestSpec(
        scheduled_job="a",
        trigger="t",
        kind="event",
        due_time=due,
        source=EventSource(id="e1", topic="events", partition=0, offset=1),
    )
    body = run_request_body(name=name, namespace="ns", owner="a", owner_uid="u1", spec=spec)
    return body | {"status": {"phase": phase}}


def test_a_request_settled_here_ignores_its_echoes_even_malformed_ones() -> None:
    s = scheduler()
    s.request_event(request("r1"), deleted=False)
    (stored,) = s.registry._orphan_requests[("ns", "u1")].values()
    stored.status = stored.status.model_copy(update={"phase": RequestPhase.LAUNCHED})
    s.request_event(request("r1", phase="Pending"), deleted=False)  # the creation's echo
    broken = request("r1") | {"spec": {"due_time": "not a time"}}
    s.request_event(broken, deleted=False)
    assert s.registry._orphan_requests[("ns", "u1")]["r1"].status.phase is RequestPhase.LAUNCHED
    s.request_event(broken, deleted=True)  # a deletion needs no valid body
    assert s.registry._orphan_requests[("ns", "u1")] == {}


def test_a_pending_request_takes_the_phase_the_api_shows() -> None:
    s = scheduler()
    s.request_event(request("r1"), deleted=False)
    s.request_event(request("r1", phase="Cancelled"), deleted=False)
    assert s.registry._orphan_requests[("ns", "u1")]["r1"].status.phase is RequestPhase.CANCELLED


async def test_a_launch_burst_holds_background_writes_for_a_bounded_time(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(writer, "MAX_HOLD_SECONDS", 0.05)
    s = scheduler()
    with s.launching():  # an endless stream of event launches
        await asyncio.wait_for(s.launches_done(), timeout=5)
    released = asyncio.Event()

    async def wait_quiet() -> None:
        await s.launches_done()
        released.set()

    monkeypatch.setattr(writer, "MAX_HOLD_SECONDS", 60.0)
    with s.launching():
        waiting = asyncio.create_task(wait_quiet())
        await asyncio.sleep(0.01)
        assert not released.is_set()
    await asyncio.wait_for(waiting, timeout=5)  # the burst ended: released at once


class BlockedApi:
    """Job creations that wait until released, counting how many are in flight."""

    def __init__(self) -> None:
        self.in_flight = 0
        self.peak = 0
        self.release = asyncio.Event()

    async def create_job(self, namespace: str, body: dict[str, Any]) -> bool:
        self.in_flight += 1
        self.peak = max(self.peak, self.in_flight)
        await self.release.wait()
        self.in_flight -= 1
        return True


async def test_event_runs_launch_as_wide_as_their_requests_are_created_not_the_slot_width() -> None:
    api = BlockedApi()
    s = Scheduler(
        api,  # type: ignore[arg-type]
        Metrics(),
        image="img",
        concurrency=1,
        request_concurrency=4,
        clock=lambda: NOW,
    )
    s.upsert(trigger_job())
    for i in range(6):
        s.accepted(request(f"r{i}"))
    for _ in range(50):  # every launch task runs until it blocks: in the API or the queue
        await asyncio.sleep(0)
    assert api.peak == 4
    api.release.set()
    await asyncio.wait_for(asyncio.gather(*s.events._direct), timeout=5)
    tracked = s.find("ns", "a")
    assert tracked is not None
    assert all(r.status.phase is RequestPhase.LAUNCHED for r in tracked.requests.values())


async def test_an_overdue_event_run_is_not_launched_on_acceptance_before_its_events_are_read() -> (
    None
):
    """The fast path on acceptance asks the same question as the pass: a request written
    from a backlog, due before the consumer has handled the events up to its due time,
    waits (its cancel may be the next record)."""
    api = BlockedApi()
    api.release.set()
    s = Scheduler(api, Metrics(), image="img", clock=lambda: NOW)  # type: ignore[arg-type]
    s.upsert(trigger_job())
    s.events_read_to = lambda: NOW - timedelta(seconds=30)
    s.accepted(request("behind", due=NOW - timedelta(seconds=10)))
    assert not s.events._direct
    s.events_read_to = lambda: NOW
    s.accepted(request("read", due=NOW - timedelta(seconds=10)))
    assert len(s.events._direct) == 1
    await asyncio.wait_for(asyncio.gather(*s.events._direct), timeout=5)
