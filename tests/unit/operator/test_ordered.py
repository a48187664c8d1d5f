"""One partition's records in flight: started at once, cancels in order, committed in
order, a failure reported for a rewind."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

from almanac.operator.ordered import OrderedWork


def gate() -> tuple[asyncio.Event, Callable[[], Awaitable[None]]]:
    """Work that finishes when its event is set."""
    released = asyncio.Event()

    async def work() -> None:
        await released.wait()

    return released, work


async def settle() -> None:
    for _ in range(5):
        await asyncio.sleep(0)


async def test_records_start_at_once_and_commit_only_the_finished_prefix() -> None:
    flight = OrderedWork()
    first, first_work = gate()
    second, second_work = gate()
    flight.add(10, first_work)
    flight.add(11, second_work)
    second.set()  # the later record finishes first: it started without waiting
    await settle()
    assert flight.committable() is None  # offset 10 is still in flight
    first.set()
    await settle()
    assert flight.committable() == 12
    assert len(flight) == 0
    assert flight.committable() is None  # nothing new


async def test_a_barrier_waits_for_earlier_records_and_holds_later_ones() -> None:
    flight = OrderedWork()
    order: list[str] = []
    earlier, earlier_work = gate()

    async def start() -> None:
        await earlier_work()
        order.append("start")

    async def cancel() -> None:
        order.append("cancel")

    async def later() -> None:
        order.append("later")

    flight.add(1, start)
    flight.add(2, cancel, barrier=True)
    flight.add(3, later)
    await settle()
    assert order == []  # the cancel waits for the start, the later record for the cancel
    earlier.set()
    await settle()
    assert order == ["start", "cancel", "later"]
    assert flight.committable() == 4


async def test_a_failure_stops_the_prefix_and_names_its_offset() -> None:
    flight = OrderedWork()

    async def ok() -> None:
        return None

    async def refused() -> None:
        raise RuntimeError("API down")

    flight.add(5, ok)
    flight.add(6, refused)
    flight.add(7, ok)
    await settle()
    assert flight.committable() == 6  # up to, not including, the failed record
    failure = flight.failed()
    assert failure is not None
    assert failure.offset == 6
    assert "API down" in str(failure.error)
    await flight.abandon()
    assert len(flight) == 0


async def test_a_failed_barrier_fails_the_records_held_behind_it() -> None:
    flight = OrderedWork()
    ran: list[int] = []

    async def refused() -> None:
        raise RuntimeError("list failed")

    async def later() -> None:
        ran.append(9)

    flight.add(8, refused, barrier=True)
    flight.add(9, later)
    await settle()
    assert ran == []
    assert flight.committable() is None
    failure = flight.failed()
    assert failure is not None
    assert failure.offset == 8


async def test_abandon_stops_work_in_flight_and_wait_any_follows_the_oldest() -> None:
    flight = OrderedWork()
    never, never_work = gate()
    flight.add(1, never_work)
    waiting = asyncio.create_task(flight.wait_any())
    await settle()
    assert not waiting.done()
    never.set()
    await asyncio.wait_for(waiting, 1)
    flight.add(2, gate()[1])
    await flight.abandon()
    assert len(flight) == 0
    assert flight.failed() is None
