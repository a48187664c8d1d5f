"""``each_bounded``: every item handled, never more than the limit at once."""

from __future__ import annotations

import asyncio

from almanac.operator.bounded import each_bounded


async def test_every_item_is_handled_with_at_most_limit_in_flight() -> None:
    done: list[int] = []
    in_flight = peak = 0

    async def work(item: int) -> None:
        nonlocal in_flight, peak
        in_flight += 1
        peak = max(peak, in_flight)
        await asyncio.sleep(0)
        in_flight -= 1
        done.append(item)

    before = len(asyncio.all_tasks())
    running = asyncio.create_task(each_bounded(range(1000), 8, work))
    await asyncio.sleep(0)
    await asyncio.sleep(0)
    assert len(asyncio.all_tasks()) - before <= 1 + 8  # the call itself and its workers
    await running
    assert sorted(done) == list(range(1000))
    assert peak == 8


async def test_no_items_and_a_limit_below_one_still_return() -> None:
    await each_bounded([], 4, lambda item: asyncio.sleep(0))
    seen: list[int] = []

    async def keep(item: int) -> None:
        seen.append(item)

    await each_bounded([1, 2], 0, keep)
    assert seen == [1, 2]
