"""What every :class:`~almanac.history.RunStore` answers, checked against both stores.

The facade's unit tests run on the in-memory store and production on Postgres; these
checks are the one description of the queries the routes depend on (the runs window and
order, the job stats, the organisation summary), run by ``tests/unit/history/
test_fake_store.py`` on the fake and ``tests/integration/history/test_store.py`` on the
real database, so the two cannot drift apart. Each takes an empty store.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Final

import pytest

from almanac.core.logtail import LogTail
from almanac.core.status import RunPhase
from almanac.history import RunStore
from almanac.history.deadletters import DeadLetter, LetterKind, event_letter
from almanac.history.records import TIMEOUT_ERROR, RunRecord
from almanac.history.states import RunState
from tests.unit.history.builders import SLOT, UID, finished, record, running

__all__ = ["CHECKS"]

NS: Final = "org-000101"
HOUR: Final = timedelta(hours=1)


async def _hourly(store: RunStore, count: int) -> list[str]:
    """``count`` finished runs, one an hour from :data:`SLOT`; their names, oldest first."""
    names = [f"nightly-{i}" for i in range(count)]
    for i, name in enumerate(names):
        await store.record_run(finished(base=record(run=name, slot=SLOT + i * HOUR)))
    return names


async def check_window_is_inclusive_on_the_slot(store: RunStore) -> None:
    names = await _hourly(store, 5)

    inside, total = await store.list_runs(
        NS, scheduledjob_uid=UID, since=SLOT + HOUR, until=SLOT + 3 * HOUR
    )
    after, _ = await store.list_runs(NS, scheduledjob_uid=UID, since=SLOT + 3 * HOUR)
    before, _ = await store.list_runs(NS, scheduledjob_uid=UID, until=SLOT + HOUR)

    assert (total, [r.run_name for r in inside]) == (3, names[3:0:-1])
    assert [r.run_name for r in after] == names[:2:-1]
    assert [r.run_name for r in before] == names[1::-1]


async def check_oldest_first_pages_from_the_start(store: RunStore) -> None:
    names = await _hourly(store, 5)

    page, total = await store.list_runs(
        NS, scheduledjob_uid=UID, oldest_first=True, limit=2, offset=1
    )

    assert (total, [r.run_name for r in page]) == (5, names[1:3])


async def check_ties_on_the_slot_go_by_first_storing(store: RunStore) -> None:
    for name in ("b-first", "a-second"):
        await store.record_run(record(run=name))
    await store.record_run(running(record(run="b-first")))  # an update keeps its place

    newest, _ = await store.list_runs(NS, scheduledjob_uid=UID)
    oldest, _ = await store.list_runs(NS, scheduledjob_uid=UID, oldest_first=True)

    assert [r.run_name for r in newest] == ["a-second", "b-first"]
    assert [r.run_name for r in oldest] == ["b-first", "a-second"]


async def check_stats_durations_timeouts_and_running(store: RunStore) -> None:
    for i, seconds in enumerate([10, 20, 60]):
        await store.record_run(finished(base=record(run=f"ok-{i}"), seconds=seconds))
    late = {"status": "failed", "summary": "over", "details": {"error": TIMEOUT_ERROR}}
    await store.record_run(
        finished(RunPhase.FAILED, record(run="late"), seconds=30, result=late, reason="timeout")
    )
    await store.record_run(finished(RunPhase.FAILED, record(run="bad"), seconds=30))
    await store.record_run(running(record(run="now")))
    await store.record_run(record(run="queued"))

    stats = await store.stats(NS, UID)

    assert (stats.total, stats.running, stats.failed, stats.timeouts) == (7, 2, 2, 1)
    assert (stats.min_seconds, stats.max_seconds) == (10.0, 60.0)
    assert stats.avg_seconds == pytest.approx(30.0)


async def check_stats_of_no_runs_are_empty(store: RunStore) -> None:
    stats = await store.stats(NS, UID)

    assert (stats.total, stats.running, stats.timeouts) == (0, 0, 0)
    assert (stats.avg_seconds, stats.min_seconds, stats.max_seconds) == (None, None, None)


async def check_summary_counts_the_window_and_the_queue_now(store: RunStore) -> None:
    await _hourly(store, 3)
    await store.record_run(finished(RunPhase.FAILED, record(run="bad", slot=SLOT + HOUR)))
    await store.record_run(running(record(run="old-but-running", slot=SLOT - 24 * HOUR)))
    await store.record_run(record(run="queued", slot=SLOT + 9 * HOUR))
    await store.record_run(finished(base=record(run="theirs", namespace="org-000202")))

    summary = await store.summarize(NS, SLOT + HOUR, SLOT + 2 * HOUR)

    runs = summary.runs
    assert (runs.total, runs.succeeded, runs.failed, runs.running) == (3, 2, 1, 0)
    assert runs.success_rate == pytest.approx(2 / 3)
    assert runs.p50_seconds == 30.0
    assert (summary.running_now, summary.pending_now) == (1, 1)


async def check_summary_of_an_empty_window_is_zero(store: RunStore) -> None:
    await store.record_run(replace(finished(), slot=SLOT))

    summary = await store.summarize(NS, SLOT + HOUR, SLOT + 2 * HOUR)

    assert (summary.runs.total, summary.runs.success_rate, summary.runs.p99_seconds) == (
        0,
        None,
        None,
    )


async def check_a_real_run_replaces_the_skipped_row_of_its_name(store: RunStore) -> None:
    skipped = record(RunPhase.SKIPPED, run="nightly-1", reason="suspended")
    await store.record_run(skipped)
    await store.record_run(running(record(run="nightly-1")))
    await store.record_run(record(RunPhase.SKIPPED, run="nightly-2", reason="overlap_forbidden"))
    await store.record_run(finished(base=record(run="nightly-2")))
    await store.record_run(skipped)  # a replayed skip never takes the run's place

    first, second = await store.get_run(UID, "nightly-1"), await store.get_run(UID, "nightly-2")

    assert first is not None
    assert second is not None
    assert (first.phase, first.reason) == (RunPhase.RUNNING, None)
    assert (second.phase, second.reason) == (RunPhase.SUCCEEDED, None)


async def check_a_skipped_row_is_no_final_row_of_a_job(store: RunStore) -> None:
    await store.record_run(record(RunPhase.SKIPPED, run="nightly-1", reason="suspended"))

    assert not await store.has_final_record(UID, "nightly-1")


async def check_status_filters_tell_failed_timeout_and_dead_lettered_apart(
    store: RunStore,
) -> None:
    await store.record_run(finished(RunPhase.FAILED, record(run="plain")))
    await store.record_run(finished(RunPhase.FAILED, record(run="late"), reason="timeout"))
    await store.record_run(
        finished(RunPhase.FAILED, record(run="dead"), dead_lettered_at=SLOT + HOUR)
    )

    def names(page: tuple[list[RunRecord], int]) -> list[str]:
        return [r.run_name for r in page[0]]

    assert names(await store.list_runs(NS, statuses=[RunState.FAILED])) == ["plain"]
    assert names(await store.list_runs(NS, statuses=[RunState.TIMEOUT])) == ["late"]
    assert names(await store.list_runs(NS, statuses=[RunState.DEAD_LETTERED])) == ["dead"]
    await store.record_run(record(RunPhase.SKIPPED, run="frozen", slot=SLOT + 5 * HOUR))
    stats = await store.stats(NS, UID)
    assert (stats.failed, stats.timeouts, stats.skipped) == (3, 1, 1)
    assert SLOT.hour + 5 not in {h.hour for h in stats.busiest_hours}  # it never started


async def check_a_dead_run_gets_one_letter_with_its_row(store: RunStore) -> None:
    dead = finished(RunPhase.FAILED, record(run="dead"), dead_lettered_at=SLOT + HOUR)
    await store.record_run(dead)
    await store.record_run(dead)  # a replay stores no second letter
    await store.record_run(finished(RunPhase.FAILED, record(run="other", namespace="org-000202")))

    letters, total = await store.list_dead_letters(NS)

    assert total == 1
    letter = letters[0]
    assert (letter.kind, letter.subject, letter.reason, letter.at) == (
        LetterKind.RUN,
        "dead",
        "exit code 1",
        SLOT + HOUR,
    )
    assert letter.id is not None
    assert await store.get_dead_letter(NS, letter.id) == letter
    assert await store.get_dead_letter("org-000202", letter.id) is None


async def check_dead_letters_filter_by_job_kind_and_time(store: RunStore) -> None:
    for i, uid in enumerate([UID, "other-uid"]):
        at = SLOT + i * HOUR
        await store.record_run(
            finished(RunPhase.FAILED, record(run=f"dead-{i}", uid=uid), dead_lettered_at=at)
        )
    await store.record_dead_letter(_event_letter(SLOT + 2 * HOUR))
    await store.record_dead_letter(_event_letter(SLOT + 2 * HOUR))  # redelivered: once

    def subjects(page: tuple[list[DeadLetter], int]) -> list[str]:
        return [x.subject for x in page[0]]

    assert subjects(await store.list_dead_letters(NS)) == ["ev-1", "dead-1", "dead-0"]
    assert subjects(await store.list_dead_letters(NS, scheduledjob_uid=UID)) == [
        "ev-1",
        "dead-0",
    ]
    assert subjects(await store.list_dead_letters(NS, kind=LetterKind.RUN)) == [
        "dead-1",
        "dead-0",
    ]
    window = await store.list_dead_letters(NS, since=SLOT + HOUR, until=SLOT + HOUR)
    assert subjects(window) == ["dead-1"]
    page, total = await store.list_dead_letters(NS, limit=1, offset=1)
    assert (subjects((page, total)), total) == (["dead-1"], 3)
    event = (await store.list_dead_letters(NS, kind=LetterKind.EVENT))[0][0]
    assert (event.topic, event.value, event.reason) == ("orders", '{"id": 1}', "bad params")


async def check_a_requeue_mark_keeps_the_first_run(store: RunStore) -> None:
    await store.record_run(
        finished(RunPhase.FAILED, record(run="dead"), dead_lettered_at=SLOT + HOUR)
    )
    letter = (await store.list_dead_letters(NS))[0][0]
    assert letter.id is not None

    first = await store.mark_requeued(NS, letter.id, "dead-r2", SLOT + 2 * HOUR)
    again = await store.mark_requeued(NS, letter.id, "dead-r3", SLOT + 3 * HOUR)
    theirs = await store.mark_requeued("org-000202", letter.id, "x", SLOT)

    assert first is not None
    assert again is not None
    assert theirs is None
    assert (again.requeued_run, again.requeued_at) == ("dead-r2", SLOT + 2 * HOUR)
    assert await store.get_dead_letter(NS, letter.id) == again


async def check_a_runs_log_tail_is_kept_replaced_and_deleted_with_it(store: RunStore) -> None:
    first = LogTail(("starting", "step 1"), truncated=False)
    newer = LogTail(("step 2", "exit 1"), truncated=True)
    await store.record_run(replace(running(record(run="logged")), log=first))
    assert await store.get_log(UID, "logged") == first
    await store.record_run(replace(finished(RunPhase.FAILED, record(run="logged")), log=newer))
    await store.record_run(finished(RunPhase.FAILED, record(run="logged")))  # no log read
    assert await store.get_log(UID, "logged") == newer
    assert await store.get_log(UID, "never-ran") is None
    await store.delete_older_than(datetime(2100, 1, 1, tzinfo=UTC))
    assert await store.get_log(UID, "logged") is None


def _event_letter(at: datetime) -> DeadLetter:
    return event_letter(
        namespace=NS,
        scheduledjob="nightly",
        scheduledjob_uid=UID,
        event_id="ev-1",
        topic="orders",
        reason="bad params",
        value=b'{"id": 1}',
        at=at,
    )


CHECKS: Final[list[Callable[[RunStore], Awaitable[None]]]] = [
    check_window_is_inclusive_on_the_slot,
    check_oldest_first_pages_from_the_start,
    check_ties_on_the_slot_go_by_first_storing,
    check_stats_durations_timeouts_and_running,
    check_stats_of_no_runs_are_empty,
    check_summary_counts_the_window_and_the_queue_now,
    check_summary_of_an_empty_window_is_zero,
    check_a_real_run_replaces_the_skipped_row_of_its_name,
    check_a_skipped_row_is_no_final_row_of_a_job,
    check_status_filters_tell_failed_timeout_and_dead_lettered_apart,
    check_a_dead_run_gets_one_letter_with_its_row,
    check_dead_letters_filter_by_job_kind_and_time,
    check_a_requeue_mark_keeps_the_first_run,
    check_a_runs_log_tail_is_kept_replaced_and_deleted_with_it,
]
