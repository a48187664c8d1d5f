"""The suspension a failure streak asks for (``spec.pauseAfterFailures``): one fenced spec
write and one Warning Event per streak, however many passes repeat the ask before the
watch shows the job suspended; a write that failed is asked for again."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from almanac.core.snapshot import ObjectRef
from almanac.operator.leader import NotLeaderError
from almanac.operator.observability import Metrics
from almanac.operator.tracked import Tracked
from almanac.operator.writer import BackgroundWriter

from .objects import trigger_job

REASON = "paused after 2 consecutive failed runs (spec.pauseAfterFailures)"


class SpecWrites:
    """A Kube that records suspensions and Events, or refuses the next suspension."""

    def __init__(self) -> None:
        self.suspended: list[tuple[str, str]] = []
        self.events: list[tuple[str, str, bool]] = []
        self.refuse = False

    async def suspend_scheduled_job(self, ref: ObjectRef, reason: str) -> None:
        if self.refuse:
            self.refuse = False
            raise RuntimeError("API server unavailable")
        self.suspended.append((ref.name, reason))

    async def post_event(self, ref: ObjectRef, reason: str, message: str, **kw: Any) -> None:
        self.events.append((reason, message, kw["warning"]))


async def drain(writer: BackgroundWriter) -> None:
    """Carry out what the writer queued: its calls, then the Events they queued."""
    calls, writer._calls = writer._calls, []
    for call in calls:
        await writer._guard(call)
    while not writer._events.empty():
        await writer._post(*writer._events.get_nowait())


def writer_with(kube: SpecWrites, leading: bool = True) -> BackgroundWriter:
    started = datetime.now(UTC)
    return BackgroundWriter(kube, Metrics(), started=started, fence=lambda: leading)  # type: ignore[arg-type]


async def test_a_streak_suspends_the_job_once_and_posts_one_warning() -> None:
    kube = SpecWrites()
    writer = writer_with(kube)
    tracked = Tracked.from_body(trigger_job())
    writer.suspend(tracked, REASON, "a-run-2")
    writer.suspend(tracked, REASON, "a-run-2")  # a second pass before the watch echo
    await drain(writer)
    assert kube.suspended == [("a", REASON)]
    assert kube.events == [("PausedAfterFailures", REASON, True)]


async def test_a_suspension_that_failed_is_asked_for_again() -> None:
    kube = SpecWrites()
    kube.refuse = True
    writer = writer_with(kube)
    tracked = Tracked.from_body(trigger_job())
    writer.suspend(tracked, REASON, "a-run-2")
    await drain(writer)
    assert kube.suspended == []
    assert kube.events == []
    writer.suspend(tracked, REASON, "a-run-2")
    await drain(writer)
    assert kube.suspended == [("a", REASON)]


async def test_a_new_streak_after_a_resume_suspends_again() -> None:
    kube = SpecWrites()
    writer = writer_with(kube)
    tracked = Tracked.from_body(trigger_job())
    writer.suspend(tracked, REASON, "a-run-2")
    writer.suspend(tracked, REASON, "a-run-4")
    await drain(writer)
    assert len(kube.suspended) == 2


async def test_a_suspension_is_not_sent_without_the_lease() -> None:
    kube = SpecWrites()
    writer = writer_with(kube, leading=False)
    tracked = Tracked.from_body(trigger_job())
    writer.suspend(tracked, REASON, "a-run-2")
    [call] = writer._calls
    with pytest.raises(NotLeaderError):
        await call()
    assert kube.suspended == []
