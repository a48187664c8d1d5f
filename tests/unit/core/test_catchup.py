"""Catch-up after downtime: newest maxRuns inside the window, oldest first; rest skipped."""

from __future__ import annotations

from datetime import timedelta

import pytest

from almanac.core import plan_catch_up
from tests.unit.core.anchors import TOP_OF_HOUR, compiled

HOUR = timedelta(hours=1)


@pytest.mark.parametrize(
    ("downtime", "window", "max_runs", "run_minutes_ago", "skipped"),
    [
        pytest.param(timedelta(minutes=25), HOUR, 1, [0], 4, id="default-runs-latest-only"),
        pytest.param(timedelta(minutes=25), HOUR, 3, [10, 5, 0], 2, id="newest-three-oldest-first"),
        pytest.param(timedelta(minutes=25), HOUR, 10, [20, 15, 10, 5, 0], 0, id="all-fit"),
        pytest.param(3 * HOUR, timedelta(minutes=12), 10, [10, 5, 0], 33, id="window-limits"),
        pytest.param(timedelta(minutes=25), HOUR, 0, [], 5, id="catch-up-disabled"),
        pytest.param(timedelta(seconds=20), HOUR, 1, [], 0, id="nothing-missed"),
    ],
)
def test_plan_catch_up_every_five_minutes(
    downtime: timedelta,
    window: timedelta,
    max_runs: int,
    run_minutes_ago: list[int],
    skipped: int,
) -> None:
    now = TOP_OF_HOUR + timedelta(seconds=30)
    plan = plan_catch_up(
        compiled(cron="*/5 * * * *"),
        after=now - downtime,
        now=now,
        window=window,
        max_runs=max_runs,
    )
    assert list(plan.run) == [TOP_OF_HOUR - timedelta(minutes=m) for m in run_minutes_ago]
    assert plan.skipped == skipped
    assert plan.exact


def test_plan_catch_up_after_a_year_of_per_second_every_is_cheap_and_exact() -> None:
    plan = plan_catch_up(
        compiled(every="1s"),
        after=TOP_OF_HOUR - timedelta(days=365),
        now=TOP_OF_HOUR,
        window=HOUR,
        max_runs=2,
    )
    assert plan.run == (TOP_OF_HOUR - timedelta(seconds=1), TOP_OF_HOUR)
    assert plan.skipped == 365 * 86_400 - 2
    assert plan.exact
    assert plan.newest == TOP_OF_HOUR


def test_plan_catch_up_after_a_week_of_per_second_cron_estimates_skips() -> None:
    plan = plan_catch_up(
        compiled(cron="* * * * * *"),
        after=TOP_OF_HOUR - timedelta(days=7),
        now=TOP_OF_HOUR,
        window=HOUR,
        max_runs=1,
    )
    assert plan.run == (TOP_OF_HOUR,)
    assert not plan.exact
    assert plan.skipped == pytest.approx(7 * 86_400, rel=0.01)


def test_plan_catch_up_respects_end_time() -> None:
    schedule = compiled(
        cron="*/5 * * * *", endTime=(TOP_OF_HOUR - timedelta(minutes=10)).isoformat()
    )
    plan = plan_catch_up(
        schedule, after=TOP_OF_HOUR - HOUR, now=TOP_OF_HOUR, window=HOUR, max_runs=1
    )
    assert plan.run == (TOP_OF_HOUR - timedelta(minutes=10),)
    assert plan.skipped == 9


def test_plan_catch_up_names_the_newest_skipped_slots_it_is_asked_to_keep() -> None:
    now = TOP_OF_HOUR + timedelta(seconds=30)
    plan = plan_catch_up(
        compiled(cron="*/5 * * * *"),
        after=now - HOUR,
        now=now,
        window=HOUR,
        max_runs=2,
        keep=3,
    )

    assert plan.run == (TOP_OF_HOUR - timedelta(minutes=5), TOP_OF_HOUR)
    assert plan.missed == tuple(TOP_OF_HOUR - timedelta(minutes=m) for m in (20, 15, 10))
