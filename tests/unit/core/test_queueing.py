"""The launch queue's arithmetic: which limit holds a run, which queued runs start and in
what order (priority, then the namespace with the fewest active runs, then the oldest),
and the launch rate's token bucket."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from almanac.core.queueing import (
    Cap,
    Limits,
    RunScope,
    TokenBucket,
    Usage,
    Waiting,
    blocking_cap,
    plan_releases,
    queue_positions,
)

T0 = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)


def scope(
    namespace: str = "a", *, org: str | None = "o1", owner: str = "", own: int | None = None
) -> RunScope:
    return RunScope(namespace, org, owner or f"{namespace}-job", own)


def usage(**namespaces: int) -> Usage:
    """Active runs per namespace (org o1 for all, one job per namespace)."""
    counted = Usage()
    for namespace, count in namespaces.items():
        counted.add(scope(namespace), count)
    return counted


def waiting(name: str, namespace: str, *, priority: int = 0, age: int = 0, **kw: Any) -> Waiting:
    return Waiting(
        f"{namespace}/{name}", scope(namespace, **kw), priority, T0 - timedelta(seconds=age)
    )


@dataclass(frozen=True)
class CapCase:
    id: str
    limits: Limits
    active: dict[str, int]
    run: RunScope
    want: Cap | None


CAP_CASES = [
    CapCase("no limits: anything fits", Limits(), {"a": 500}, scope("a"), None),
    CapCase("under the namespace limit", Limits(per_namespace=2), {"a": 1}, scope("a"), None),
    CapCase("at the namespace limit", Limits(per_namespace=2), {"a": 2}, scope("a"), Cap.NAMESPACE),
    CapCase(
        "another namespace at its limit does not hold this one",
        Limits(per_namespace=2),
        {"b": 2},
        scope("a"),
        None,
    ),
    CapCase(
        "the organisation counts all its namespaces",
        Limits(per_org=3),
        {"a": 1, "b": 2},
        scope("a"),
        Cap.ORGANISATION,
    ),
    CapCase(
        "an unlabelled namespace has no organisation limit",
        Limits(per_org=1),
        {"a": 5},
        scope("z", org=None),
        None,
    ),
    CapCase(
        "the cluster limit counts everyone",
        Limits(total=3),
        {"a": 1, "b": 2},
        scope("c"),
        Cap.CLUSTER,
    ),
    CapCase(
        "the job's own limit is the narrowest, named first",
        Limits(per_namespace=1),
        {"a": 1},
        scope("a", own=1),
        Cap.MAX_CONCURRENT_RUNS,
    ),
    CapCase(
        "the job's own limit counts only its runs",
        Limits(),
        {"a": 3},
        scope("a", owner="other", own=1),
        None,
    ),
]


@pytest.mark.parametrize("case", CAP_CASES, ids=lambda c: c.id)
def test_blocking_cap(case: CapCase) -> None:
    assert blocking_cap(case.limits, usage(**case.active), case.run) == case.want


@dataclass(frozen=True)
class PlanCase:
    id: str
    limits: Limits
    active: dict[str, int]
    queue: list[Waiting]
    want: list[str]
    tokens: int | None = None
    held: dict[str, Cap] = field(default_factory=dict)


PLAN_CASES = [
    PlanCase(
        "a freed place goes to the oldest run of the namespace",
        Limits(per_namespace=2),
        {"a": 1},
        [waiting("new", "a", age=1), waiting("old", "a", age=9)],
        ["a/old"],
        held={"a/new": Cap.NAMESPACE},
    ),
    PlanCase(
        "higher priority first, however young",
        Limits(total=1),
        {},
        [waiting("old", "a", age=60), waiting("urgent", "b", priority=1000)],
        ["b/urgent"],
        held={"a/old": Cap.CLUSTER},
    ),
    PlanCase(
        "at equal priority the namespace with fewer active runs first",
        Limits(total=4),
        {"a": 2, "b": 0},
        [waiting("a1", "a", age=60), waiting("b1", "b", age=1)],
        ["b/b1", "a/a1"],
    ),
    PlanCase(
        "fair: releases alternate between namespaces as each one's count grows",
        Limits(total=4),
        {},
        [
            waiting("a1", "a", age=9),
            waiting("a2", "a", age=8),
            waiting("a3", "a", age=7),
            waiting("b1", "b", age=1),
        ],
        ["a/a1", "b/b1", "a/a2", "a/a3"],
    ),
    PlanCase(
        "a run held by its namespace does not block another namespace",
        Limits(per_namespace=1),
        {"a": 1},
        [waiting("a1", "a", priority=10), waiting("b1", "b")],
        ["b/b1"],
        held={"a/a1": Cap.NAMESPACE},
    ),
    PlanCase(
        "the cluster limit holds everyone",
        Limits(total=2),
        {"a": 2},
        [waiting("b1", "b")],
        [],
        held={"b/b1": Cap.CLUSTER},
    ),
    PlanCase(
        "the launch rate stops the round, the rest wait for tokens",
        Limits(launches_per_second=1),
        {},
        [waiting("a1", "a", age=2), waiting("a2", "a", age=1)],
        ["a/a1"],
        tokens=1,
        held={"a/a2": Cap.LAUNCH_RATE},
    ),
    PlanCase(
        "maxConcurrentRuns holds a job's run while its sibling job goes",
        Limits(),
        {"a": 1},  # one run of a-job active
        [
            waiting("x1", "a", owner="a-job", own=1, age=9),
            waiting("y1", "a", owner="y", own=1, age=1),
        ],
        ["a/y1"],
        held={"a/x1": Cap.MAX_CONCURRENT_RUNS},
    ),
    PlanCase("an empty queue releases nothing", Limits(total=1), {}, [], []),
]


@pytest.mark.parametrize("case", PLAN_CASES, ids=lambda c: c.id)
def test_plan_releases(case: PlanCase) -> None:
    counted = usage(**case.active)
    plan = plan_releases(case.limits, counted, case.queue, case.tokens)
    assert [run.name for run in plan.releases] == case.want
    assert plan.held == case.held
    assert counted.total == sum(case.active.values()) + len(case.want)  # reserved


@given(
    st.lists(
        st.tuples(st.sampled_from("abc"), st.integers(0, 3), st.integers(0, 100)),
        max_size=30,
    ),
    st.integers(1, 6),
    st.integers(1, 10),
)
def test_a_plan_never_exceeds_a_limit(
    runs: list[tuple[str, int, int]], ns: int, total: int
) -> None:
    queue = [waiting(f"r{i}", n, priority=p, age=a) for i, (n, p, a) in enumerate(runs)]
    counted = Usage()
    plan = plan_releases(Limits(per_namespace=ns, total=total), counted, queue, None)
    assert counted.total <= total
    assert all(count <= ns for count in Counter(r.scope.namespace for r in plan.releases).values())
    assert len({r.name for r in plan.releases}) == len(plan.releases)
    # Nothing is held while a limit still had room for it.
    assert len(plan.releases) == min(len(queue), total, sum(min(ns, c) for c in Counter(
        r.scope.namespace for r in queue).values()))  # fmt: skip


def test_queue_positions_follow_the_release_order() -> None:
    queue = [
        waiting("late", "a", age=1),
        waiting("early", "a", age=5),
        waiting("vip", "b", priority=5),
    ]
    assert queue_positions(queue, usage()) == {"b/vip": 1, "a/early": 2, "a/late": 3}


@dataclass(frozen=True)
class BucketCase:
    id: str
    rate: float | None
    burst: int
    takes: list[tuple[float, bool]]  # (seconds after T0, granted)


BUCKET_CASES = [
    BucketCase("unlimited grants everything", None, 1, [(0, True), (0, True), (0, True)]),
    BucketCase(
        "a burst, then one per second", 1.0, 2, [(0, True), (0, True), (0, False), (1, True)]
    ),
    BucketCase("tokens never pile above the burst", 10.0, 1, [(0, True), (60, True), (60, False)]),
    BucketCase("a slow rate", 0.5, 1, [(0, True), (1, False), (2, True)]),
]


@pytest.mark.parametrize("case", BUCKET_CASES, ids=lambda c: c.id)
def test_token_bucket(case: BucketCase) -> None:
    bucket = TokenBucket(case.rate, case.burst)
    got = [bucket.take(T0 + timedelta(seconds=at)) for at, _ in case.takes]
    assert got == [granted for _, granted in case.takes]


def test_the_next_token_is_announced() -> None:
    bucket = TokenBucket(2.0, 1)
    assert bucket.take(T0)
    assert bucket.next_token(T0) == T0 + timedelta(seconds=0.5)
    assert TokenBucket(None).next_token(T0) is None
