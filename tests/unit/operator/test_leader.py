"""The Lease rules that keep a deposed leader from writing beside its successor: expiry is
judged by how long this process has seen the record unchanged (not by the holder's
clock-stamped renewTime), and the holder's writes are fenced once its last renewal is
older than the renew deadline (a leader frozen past its Lease resumes refused)."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from types import SimpleNamespace
from typing import Any

import pytest

from almanac.core.runs import RunRequest
from almanac.core.templates import JobTemplateSpec
from almanac.operator.launcher import Launcher
from almanac.operator.leader import LeaseElector, LeaseTiming, NotLeaderError
from almanac.operator.observability import Metrics
from almanac.operator.scheduler import Scheduler
from almanac.operator.tracked import Tracked
from almanac.operator.writer import BackgroundWriter

from .objects import trigger_job


class Leases:
    """One Lease in memory, replaced by resourceVersion like the API server does."""

    def __init__(self, holder: str, renewed: datetime) -> None:
        self.version = 1
        self.spec: dict[str, Any] = {"holderIdentity": holder, "renewTime": renewed}

    async def read_namespaced_lease(self, name: str, namespace: str) -> Any:
        spec = SimpleNamespace(
            holder_identity=self.spec["holderIdentity"],
            renew_time=self.spec["renewTime"],
            lease_duration_seconds=10,
            lease_transitions=0,
            acquire_time=None,
        )
        return SimpleNamespace(
            spec=spec, metadata=SimpleNamespace(resource_version=str(self.version))
        )

    async def replace_namespaced_lease(self, name: str, namespace: str, body: Any) -> None:
        assert body["metadata"]["resourceVersion"] == str(self.version)
        self.version += 1
        self.spec = {"holderIdentity": body["spec"]["holderIdentity"], "renewTime": None}

    def renew_by_holder(self) -> None:
        self.version += 1


def elector(leases: Leases, clock: list[float]) -> LeaseElector:
    return LeaseElector(
        leases,
        namespace="almanac-system",
        name="almanac",
        identity="replica-b",
        timing=LeaseTiming(),
        clock=lambda: clock[0],
    )


async def test_a_lease_stamped_far_ahead_expires_by_this_replicas_own_clock() -> None:
    # The holder's clock runs an hour ahead: by renewTime its Lease would look alive for
    # an hour after it died. The standby takes over 10 s after the record stopped changing.
    leases = Leases("replica-a", datetime.now(UTC) + timedelta(hours=1))
    clock = [100.0]
    standby = elector(leases, clock)
    assert not await standby.try_acquire_or_renew()
    clock[0] += 9
    assert not await standby.try_acquire_or_renew()
    clock[0] += 2
    assert await standby.try_acquire_or_renew()


async def test_a_lease_renewed_by_its_holder_never_expires_for_the_standby() -> None:
    # And one stamped in the past (the holder's clock behind) is not taken while renewed.
    leases = Leases("replica-a", datetime.now(UTC) - timedelta(hours=1))
    clock = [100.0]
    standby = elector(leases, clock)
    for _ in range(5):
        assert not await standby.try_acquire_or_renew()
        clock[0] += 5
        leases.renew_by_holder()


async def test_the_leaders_writes_are_fenced_once_its_renewal_is_older_than_the_deadline() -> None:
    leases = Leases("", datetime.now(UTC))
    clock = [100.0]
    leader = elector(leases, clock)
    assert not leader.holds()
    await leader.acquire()
    assert leader.holds()
    clock[0] += 6.9
    assert leader.holds()
    clock[0] += 0.2  # e.g. the process was frozen (SIGSTOP) past the renew deadline
    assert not leader.holds()


class NoApi:
    async def create_job(self, namespace: str, body: dict[str, Any]) -> bool:
        raise AssertionError("a fenced launcher must not reach the API server")


async def test_a_fenced_launcher_creates_no_job() -> None:
    writer = BackgroundWriter(NoApi(), Metrics(), started=datetime.now(UTC))  # type: ignore[arg-type]
    launcher = Launcher(
        NoApi(),  # type: ignore[arg-type]
        Metrics(),
        writer,
        clock=lambda: datetime.now(UTC),
        count_trigger=lambda t, trigger, outcome: None,
        fence=lambda: False,
    )
    tracked = Tracked.from_body(trigger_job())
    template = JobTemplateSpec(image="img", command=["true"])
    with pytest.raises(NotLeaderError):
        await launcher.launch(tracked, template, RunRequest(datetime.now(UTC)), datetime.now(UTC))


async def test_a_fenced_pass_is_one_warning_and_tried_again(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """A pass the fence refused is the fence at work, not a broken job: one warning line
    without a traceback, counted, and the job woken again soon."""
    metrics = Metrics()
    scheduler = Scheduler(None, metrics, image="img", fence=lambda: False)  # type: ignore[arg-type]
    tracked = Tracked.from_body(trigger_job())
    scheduler.registry.objects[tracked.key] = tracked

    async def refused(t: Tracked) -> None:
        raise NotLeaderError("run x not launched: the Lease is not surely held")

    scheduler.reconcile = refused  # type: ignore[method-assign]
    await scheduler._guarded(tracked.key)
    [record] = [r for r in caplog.records if r.getMessage() == "pass refused"]
    assert record.levelname == "WARNING"
    assert record.exc_info is None
    assert "Lease is not surely held" in record.error  # type: ignore[attr-defined]
    assert metrics.reconcile_errors._value.get() == 1
    assert len(scheduler.wakeups) == 1


class NoWrites:
    async def patch_status(self, *args: Any) -> str:
        raise AssertionError("an unchanged status must not be written")


def test_a_new_leader_does_not_rewrite_the_status_it_read() -> None:
    """The status in the body a new leader lists counts as written: the same status
    computed again queues nothing (a restart that changes nothing writes nothing)."""
    stored = {"observedGeneration": 1, "counts": {"launched": 3}}
    tracked = Tracked.from_body(trigger_job() | {"status": stored})
    writer = BackgroundWriter(NoWrites(), Metrics(), started=datetime.now(UTC))  # type: ignore[arg-type]
    writer.status(tracked, json.loads(json.dumps(stored)))
    assert not writer._dirty
    writer.status(tracked, stored | {"counts": {"launched": 4}})
    assert tracked.key in writer._dirty
