"""The scheduler's bookkeeping: a pass already queued for a time covers later pokes,
and observations (Job phases, trigger counters) wait briefly for more; the active-runs
gauge is a running total of each object's latest count."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from almanac.operator.observability import Metrics
from almanac.operator.scheduler import COALESCE, Scheduler

NOW = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)


def scheduler() -> Scheduler:
    return Scheduler(None, Metrics(), image="img", clock=lambda: NOW)  # type: ignore[arg-type]


def queued(s: Scheduler) -> list[tuple[datetime, tuple[str, str]]]:
    return sorted((when, key) for when, _, key in s._heap)


def test_a_queued_pass_covers_later_pokes_of_the_same_object() -> None:
    s = scheduler()
    s.poke(("ns", "a"))
    s.poke(("ns", "a"), NOW + timedelta(seconds=5))
    s._observed(("ns", "a"))
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
        s._observed(("ns", "a"))
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
