"""BufferedRecorder: never blocks, merges by run, backs off, flushes when the store returns."""

from __future__ import annotations

import asyncio

from almanac.core.status import RunPhase
from almanac.history import Backoff, BufferedRecorder, OutboxMessage
from tests.support import eventually
from tests.support.runstore import InMemoryRunStore
from tests.unit.history.builders import UID, finished, record, running

RUN = "nightly-202603010200"


class FakeClock:
    """Monotonic seconds that only move when the recorder sleeps."""

    def __init__(self) -> None:
        self.now = 0.0
        self.sleeps: list[float] = []

    def __call__(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds
        await asyncio.sleep(0)


def _recorder(
    store: InMemoryRunStore, clock: FakeClock, *, capacity: int = 100, batch_size: int = 10
) -> BufferedRecorder:
    return BufferedRecorder(
        store,
        backoff=Backoff(initial=1, maximum=4),
        clock=clock,
        sleep=clock.sleep,
        capacity=capacity,
        batch_size=batch_size,
    )


async def test_submit_returns_at_once_and_flush_writes() -> None:
    store = InMemoryRunStore()
    recorder = _recorder(store, FakeClock())

    recorder.submit(running())
    assert recorder.backlog == 1
    assert await recorder.flush() == 1

    assert recorder.backlog == 0
    assert recorder.healthy
    assert store.runs[(UID, RUN)].phase == RunPhase.RUNNING


async def test_outage_keeps_the_latest_phase_per_run_and_reports_unhealthy() -> None:
    store = InMemoryRunStore()
    store.fail_next(1)
    recorder = _recorder(store, FakeClock())
    notice = OutboxMessage("n-1", "topic", UID, {})

    recorder.submit(running())
    assert await recorder.flush() == 0
    recorder.submit(finished(), [notice])
    recorder.submit(running())  # a stale observation replayed later

    assert not recorder.healthy
    assert recorder.backlog == 1
    assert recorder.last_error is not None
    assert await recorder.flush() == 1
    assert recorder.healthy
    assert store.runs[(UID, RUN)].phase == RunPhase.SUCCEEDED
    assert list(store.outbox) == ["n-1"]


async def test_has_final_record_waits_for_the_write() -> None:
    store = InMemoryRunStore()
    store.fail_next(1)
    recorder = _recorder(store, FakeClock())
    recorder.submit(finished())

    await recorder.flush()
    assert not await recorder.has_final_record(UID, RUN)
    await recorder.flush()
    assert await recorder.has_final_record(UID, RUN)


async def test_has_final_record_is_false_when_the_store_is_down() -> None:
    store = InMemoryRunStore()
    await store.record_run(finished())
    store.fail_next(1)
    recorder = _recorder(store, FakeClock())

    assert not await recorder.has_final_record(UID, RUN)


async def test_run_loop_backs_off_exponentially_then_flushes() -> None:
    store = InMemoryRunStore()
    store.fail_next(4)
    clock = FakeClock()
    recorder = _recorder(store, clock)
    stop = asyncio.Event()
    loop = asyncio.create_task(recorder.run(stop))

    recorder.submit(finished())
    await eventually(lambda: recorder.backlog == 0, timeout=5, interval=0.01, what="flushed")
    stop.set()
    recorder.submit(running(record(run="wake-the-loop")))
    await loop

    assert clock.sleeps == [1, 2, 4, 4]
    assert recorder.healthy
    assert store.runs[(UID, RUN)].phase == RunPhase.SUCCEEDED


async def test_full_buffer_evicts_a_non_final_run_first() -> None:
    store = InMemoryRunStore()
    recorder = _recorder(store, FakeClock(), capacity=2)

    recorder.submit(finished(base=record(run="a")))
    recorder.submit(running(record(run="b")))
    recorder.submit(finished(base=record(run="c")))

    assert recorder.dropped == 1
    assert recorder.pending(UID, "b") is None
    assert recorder.pending(UID, "a") is not None
    assert recorder.pending(UID, "c") is not None


async def test_full_buffer_evicts_a_skipped_slots_row_before_any_run() -> None:
    store = InMemoryRunStore()
    recorder = _recorder(store, FakeClock(), capacity=2)

    recorder.submit(running(record(run="a")))
    recorder.submit(record(RunPhase.SKIPPED, run="s", reason="suspended"))
    recorder.submit(running(record(run="b")))

    assert recorder.pending(UID, "s") is None
    assert recorder.pending(UID, "a") is not None
    assert recorder.pending(UID, "b") is not None


async def test_failed_batch_goes_back_merged_with_newer_writes() -> None:
    store = InMemoryRunStore()
    store.fail_next(1)
    recorder = _recorder(store, FakeClock(), batch_size=1)
    recorder.submit(running(record(run="a")))
    recorder.submit(running(record(run="b")))

    await recorder.flush()
    recorder.submit(finished(base=record(run="a")))
    await recorder.flush()

    assert [r.run_name for r in store.runs.values()] == ["a", "b"]
    assert store.runs[(UID, "a")].phase == RunPhase.SUCCEEDED


async def test_aclose_reports_what_could_not_be_written() -> None:
    store = InMemoryRunStore()
    store.fail_next(1)
    recorder = _recorder(store, FakeClock())
    recorder.submit(finished())

    assert await recorder.aclose() == 1


def _message(event_id: str) -> OutboxMessage:
    return OutboxMessage(event_id, "almanac.events", UID, {"id": event_id})


async def test_run_less_messages_survive_an_outage_once_each_and_go_first() -> None:
    store = InMemoryRunStore()
    store.fail_next(1)
    recorder = _recorder(store, FakeClock())

    recorder.submit(finished(), [_message("run-event")])
    recorder.submit_messages([_message("job-created"), _message("job-created")])
    assert recorder.backlog == 2
    await recorder.flush()
    assert (recorder.healthy, recorder.backlog) == (False, 2)
    recorder.submit_messages([_message("job-created")])
    await recorder.flush()

    assert (recorder.healthy, recorder.backlog) == (True, 0)
    assert list(store.outbox) == ["job-created", "run-event"]


async def test_full_buffer_drops_the_oldest_run_less_message() -> None:
    store = InMemoryRunStore()
    recorder = _recorder(store, FakeClock(), capacity=2)

    recorder.submit_messages([_message("a"), _message("b"), _message("c")])
    await recorder.flush()

    assert recorder.dropped == 1
    assert list(store.outbox) == ["b", "c"]


async def test_the_run_loop_wakes_for_a_run_less_message() -> None:
    store = InMemoryRunStore()
    recorder = _recorder(store, FakeClock())
    stop = asyncio.Event()
    loop = asyncio.create_task(recorder.run(stop))

    recorder.submit_messages([_message("job-created")])

    await eventually(lambda: "job-created" in store.outbox, timeout=5, what="the message")
    stop.set()
    await loop
