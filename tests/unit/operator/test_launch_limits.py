"""The launch limits in the operator's shell: every launch passes the gate (a run over a
limit is created as a suspended, marked Job), the Job watch keeps the counts, and the
dispatcher releases queued runs as places free, in priority order, each exactly once.
Against an in-memory API server; the integration suite does it on a cluster."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from typing import Any

from almanac.core.queueing import Cap, Limits
from almanac.operator.dispatch import release_patch
from almanac.operator.launchgate import PriorityClasses
from almanac.operator.launchqueue import QueueSetup
from almanac.operator.observability import Metrics
from almanac.operator.registry import WATCHED
from almanac.operator.runledger import RunLedger
from almanac.operator.scheduler import Scheduler
from almanac.operator.tracked import Tracked

from .objects import trigger_job
from .test_event_jobs import NOW, Api, planned

CLASSES = {"high": 1000, "low": 10}


class Cluster(Api):
    """The fake API server, with Job patches (merge) and a switch to refuse them."""

    def __init__(self) -> None:
        super().__init__()
        self.patches: list[tuple[str, dict[str, Any]]] = []
        self.refuse = False

    async def patch_job(self, namespace: str, name: str, body: dict[str, Any]) -> None:
        if self.refuse:
            raise RuntimeError("the API server is away")
        self.patches.append((name, body))
        job = self.jobs[name]
        labels = job["metadata"]["labels"]
        for key, value in body["metadata"]["labels"].items():
            if value is None:
                labels.pop(key, None)
        job["spec"] |= body["spec"]


async def read_classes() -> tuple[dict[str, int], int]:
    return dict(CLASSES), 0


def cluster(
    limits: Limits, *jobs: dict[str, Any], api: Cluster | None = None
) -> tuple[Scheduler, Cluster, list[Tracked]]:
    api = api or Cluster()
    setup = QueueSetup(limits, PriorityClasses(read_classes), api.patch_job)
    s = Scheduler(api, Metrics(), image="img", clock=lambda: NOW, queue=setup)  # type: ignore[arg-type]
    tracked = []
    for i, spec in enumerate(jobs or ({},)):
        body = trigger_job(**spec)
        body["metadata"] |= {"name": f"j{i}", "uid": f"u{i}"}
        s.upsert(body)
        found = s.find("ns", f"j{i}")
        assert found is not None
        tracked.append(found)
    for kind in WATCHED:
        s.listed(kind)
    return s, api, tracked


async def launch(s: Scheduler, t: Tracked, n: int) -> str:
    """One event run of ``t`` (created at once); the name of its Job."""
    assert await s.launch_event_now(t, f"{t.ref.name}-r{n}", planned(f"{t.ref.name}-e{n}"))
    return next(reversed(s.find("ns", t.ref.name).unseen))  # type: ignore[union-attr]


def show(s: Scheduler, api: Cluster, name: str, created: str = "12:00:00", **status: Any) -> None:
    """The Job watch delivers ``name`` as it is now, with ``status``."""
    body = api.jobs[name]
    meta = body["metadata"] | {"creationTimestamp": f"2026-12-01T{created}Z"}
    s.job_event(body | {"metadata": meta, "status": status}, False)


DONE: dict[str, Any] = {
    "conditions": [{"type": "Complete", "status": "True"}],
    "completionTime": "2026-12-01T12:01:00Z",
}


def suspended(api: Cluster) -> list[str]:
    return sorted(n for n, b in api.jobs.items() if b["spec"].get("suspend"))


async def test_a_run_over_the_namespace_limit_waits_and_starts_when_a_place_frees() -> None:
    s, api, [t] = cluster(Limits(per_namespace=2))
    await s.queue.dispatcher.start()
    first, second, third = [await launch(s, t, n) for n in (1, 2, 3)]
    assert suspended(api) == [third]
    assert api.jobs[third]["metadata"]["annotations"]["almanac.dev/queued-reason"] == "namespace"
    assert (
        s._metrics.registry.get_sample_value("almanac_runs_enqueued_total", {"reason": "namespace"})
        == 1
    )
    for name in (first, second, third):
        show(s, api, name)
    assert api.patches == []  # nothing ended: the third keeps waiting
    show(s, api, first, **DONE)
    await s.queue.dispatcher.releases_done()
    assert api.patches == [(third, release_patch())]
    assert suspended(api) == []
    assert "almanac.dev/queued" not in api.jobs[third]["metadata"]["labels"]
    show(s, api, third, active=1)
    assert s.queue.ledger.usage.namespaces["ns"] == 2


async def test_runs_launched_at_once_never_both_take_the_last_place() -> None:
    s, api, [t] = cluster(Limits(per_namespace=2))
    await asyncio.gather(*(launch(s, t, n) for n in range(6)))
    assert len(api.jobs) == 6
    assert len(suspended(api)) == 4


async def test_the_higher_priority_class_is_released_first() -> None:
    s, api, [running, low, high] = cluster(
        Limits(total=1), {}, {"priority": "low"}, {"priority": "high"}
    )
    await s.queue.dispatcher.start()
    busy = await launch(s, running, 1)
    queued_low = await launch(s, low, 1)
    queued_high = await launch(s, high, 1)
    assert api.jobs[queued_high]["metadata"]["annotations"]["almanac.dev/priority"] == "1000"
    assert api.jobs[queued_high]["spec"]["template"]["spec"]["priorityClassName"] == "high"
    for name in (busy, queued_low, queued_high):
        show(s, api, name)
    show(s, api, busy, **DONE)
    await s.queue.dispatcher.releases_done()
    assert [name for name, _ in api.patches] == [queued_high]
    show(s, api, queued_high, active=1)
    show(s, api, queued_high, **DONE)
    await s.queue.dispatcher.releases_done()
    assert [name for name, _ in api.patches] == [queued_high, queued_low]


async def test_max_concurrent_runs_queues_the_jobs_own_runs_only() -> None:
    s, api, [capped, free] = cluster(Limits(), {"maxConcurrentRuns": 1}, {})
    await s.queue.dispatcher.start()
    first = await launch(s, capped, 1)
    second = await launch(s, capped, 2)
    others = [await launch(s, free, n) for n in (1, 2)]
    assert suspended(api) == [second]
    reason = api.jobs[second]["metadata"]["annotations"]["almanac.dev/queued-reason"]
    assert reason == "maxConcurrentRuns"
    for name in (first, second, *others):
        show(s, api, name)
    show(s, api, first, **DONE)
    await s.queue.dispatcher.releases_done()
    assert [name for name, _ in api.patches] == [second]


async def test_a_new_leader_counts_the_listed_jobs_then_releases_what_fits() -> None:
    before, api, [t] = cluster(Limits(per_namespace=1))
    names = [await launch(before, t, n) for n in (1, 2, 3)]
    assert len(suspended(api)) == 2
    # A new leader with a wider limit lists the Jobs (the queued ones created 12:00:02
    # and 12:00:01), then its dispatcher starts.
    leader, _, _ = cluster(Limits(per_namespace=2), api=api)
    for name, created in zip(names, ("12:00:00", "12:00:02", "12:00:01"), strict=True):
        show(leader, api, name, created)
    leader.queue.dispatcher.dispatch()  # not started: nothing before every Job is counted
    assert api.patches == []
    await leader.queue.dispatcher.start()
    leader.queue.dispatcher.dispatch()
    await leader.queue.dispatcher.releases_done()
    assert [name for name, _ in api.patches] == [names[2]]  # the older one: one place


async def test_a_release_the_api_server_refuses_waits_for_the_next_round() -> None:
    s, api, [t] = cluster(Limits(per_namespace=1))
    await s.queue.dispatcher.start()
    running, waiting = [await launch(s, t, n) for n in (1, 2)]
    show(s, api, running)
    show(s, api, waiting)
    api.refuse = True
    show(s, api, running, **DONE)
    await s.queue.dispatcher.releases_done()
    assert api.patches == []
    assert (("ns", waiting) in s.queue.ledger.queued, s.queue.ledger.usage.total) == (True, 0)
    api.refuse = False
    s.queue.dispatcher.dispatch()  # the next round
    await s.queue.dispatcher.releases_done()
    assert [name for name, _ in api.patches] == [waiting]


async def test_the_launch_rate_queues_a_burst_beyond_its_tokens() -> None:
    s, api, [t] = cluster(Limits(launches_per_second=1, burst=2))
    names = [await launch(s, t, n) for n in range(4)]
    assert suspended(api) == sorted(names[2:])
    assert {
        api.jobs[n]["metadata"]["annotations"]["almanac.dev/queued-reason"] for n in names[2:]
    } == {"launchRate"}


async def test_a_job_that_existed_gives_its_reservation_back() -> None:
    s, api, [t] = cluster(Limits(per_namespace=1))
    name = await launch(s, t, 1)
    assert s.queue.ledger.usage.total == 1
    again = planned(f"{t.ref.name}-e1", due=NOW + timedelta(0))
    await s.launch_event_now(t, f"{t.ref.name}-r1", again)  # a redelivery: AlreadyExists
    assert s.queue.ledger.usage.total == 1
    assert list(api.jobs) == [name]


def test_runs_held_by_the_launch_rate_leave_one_token_at_a_time_in_order() -> None:
    ledger = RunLedger(Limits(launches_per_second=1, burst=1))
    woken: list[str] = []
    ledger.on_rate_held = lambda: woken.append("dispatcher")
    assert ledger.admit("ns", "u", "a", 0, NOW) is None
    assert ledger.admit("ns", "u", "b", 0, NOW) is Cap.LAUNCH_RATE
    assert ledger.admit("ns", "u", "c", 0, NOW + timedelta(seconds=0.1)) is Cap.LAUNCH_RATE
    assert woken == ["dispatcher", "dispatcher"]
    # A token refills: the oldest waiting run takes it, not a newcomer.
    assert [r.name for r in ledger.plan(NOW + timedelta(seconds=1)).releases] == ["ns/b"]
    assert ledger.admit("ns", "u", "d", 0, NOW + timedelta(seconds=1)) is Cap.LAUNCH_RATE
    assert [r.name for r in ledger.plan(NOW + timedelta(seconds=2)).releases] == ["ns/c"]
    assert ledger.usage.total == 3


async def test_with_no_limit_a_launch_reads_no_priority_class() -> None:
    """Priorities only order the queue: with no limit set, launches go on while
    PriorityClasses cannot be read (e.g. an install whose RBAC lacks them)."""

    async def unreadable() -> tuple[dict[str, int], int]:
        raise RuntimeError("priorityclasses is forbidden")

    api = Cluster()
    setup = QueueSetup(Limits(), PriorityClasses(unreadable), api.patch_job)
    s = Scheduler(api, Metrics(), image="img", clock=lambda: NOW, queue=setup)  # type: ignore[arg-type]
    body = trigger_job(priority="high")
    body["metadata"] |= {"name": "j0", "uid": "u0"}
    s.upsert(body)
    for kind in WATCHED:
        s.listed(kind)
    t = s.find("ns", "j0")
    assert t is not None
    job = await launch(s, t, 1)
    assert suspended(api) == []
    assert job in api.jobs
