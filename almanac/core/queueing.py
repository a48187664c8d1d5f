"""Limits on active runs and the order of the launch queue, as pure arithmetic.

A run over a limit is not delayed or dropped: its Job is created at once, suspended and
marked queued (its name still holds its slot: invariant one-run-per-slot), and released
later in the order this module decides. Why the limits live here and not in the shell:
what fits and what goes first are the decisions people argue about, so they are written
as plain functions over counts and tested as tables; the operator only counts what the
watches show and carries out the releases.

Counting: a run is *active* while its Job is neither finished nor suspended. A queued
run's Job counts for its ScheduledJob's overlap policy (it will run) but not here.

Order of release (:func:`plan_releases`): higher priority first (the value of the run's
PriorityClass); at equal priority the namespace with the fewest active runs first, so one
busy tenant cannot starve the others; then the run queued longest; then by name. A run
held by its own namespace's, organisation's or job's limit does not hold back runs that
other limits allow (no head-of-line blocking across tenants); the cluster's limit and the
launch rate hold everyone.
"""

from __future__ import annotations

import math
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum

__all__ = [
    "Cap",
    "Limits",
    "Plan",
    "RunScope",
    "TokenBucket",
    "Usage",
    "Waiting",
    "blocking_cap",
    "plan_releases",
    "queue_positions",
]


class Cap(StrEnum):
    """Which limit holds a run (the ``almanac.dev/queued-reason`` annotation, the Event,
    the REST queue's ``reason``)."""

    MAX_CONCURRENT_RUNS = "maxConcurrentRuns"
    NAMESPACE = "namespace"
    ORGANISATION = "organisation"
    CLUSTER = "cluster"
    LAUNCH_RATE = "launchRate"


@dataclass(frozen=True)
class Limits:
    """The operator's limits (``None``: unlimited, the default for each)."""

    per_namespace: int | None = None
    per_org: int | None = None
    total: int | None = None
    #: Launches (a new run's start or a release) per second, with bursts of ``burst``.
    launches_per_second: float | None = None
    burst: int = 1

    @property
    def caps_active(self) -> bool:
        """Whether any limit on active runs is set (else nothing needs counting)."""
        return any(v is not None for v in (self.per_namespace, self.per_org, self.total))


@dataclass(frozen=True)
class RunScope:
    """Where one run counts: its namespace, organisation (``None``: the namespace has no
    ``almanac.dev/org-id`` label), its ScheduledJob (by uid) and that job's own
    ``maxConcurrentRuns``."""

    namespace: str
    org: str | None
    owner: str
    own_limit: int | None = None


@dataclass
class Usage:
    """Active runs per scope. Mutable on purpose: the launcher checks and reserves in one
    step (no await between), so two launches of one pass never both take the last place."""

    total: int = 0
    namespaces: Counter[str] = field(default_factory=Counter)
    orgs: Counter[str] = field(default_factory=Counter)
    owners: Counter[str] = field(default_factory=Counter)

    def add(self, scope: RunScope, count: int = 1) -> None:
        """Count ``scope``'s run active (``count`` -1: no longer)."""
        self.total += count
        self.namespaces[scope.namespace] += count
        self.owners[scope.owner] += count
        if scope.org is not None:
            self.orgs[scope.org] += count


def blocking_cap(limits: Limits, usage: Usage, scope: RunScope) -> Cap | None:
    """The first limit one more active run of ``scope`` would exceed, the narrowest first
    (``None``: it fits). The launch rate is not a cap on active runs: see :class:`TokenBucket`."""
    checks = (
        (Cap.MAX_CONCURRENT_RUNS, scope.own_limit, usage.owners[scope.owner]),
        (Cap.NAMESPACE, limits.per_namespace, usage.namespaces[scope.namespace]),
        (
            Cap.ORGANISATION,
            limits.per_org if scope.org is not None else None,
            usage.orgs[scope.org] if scope.org is not None else 0,
        ),
        (Cap.CLUSTER, limits.total, usage.total),
    )
    for cap, limit, active in checks:
        if limit is not None and active >= limit:
            return cap
    return None


@dataclass
class TokenBucket:
    """Launches per second with bursts: ``burst`` tokens at most, one more every
    ``1/rate`` seconds. ``rate`` ``None``: unlimited (every :meth:`take` succeeds)."""

    rate: float | None
    burst: int = 1
    tokens: float = 0.0
    at: datetime | None = None

    def __post_init__(self) -> None:
        self.tokens = float(self.burst)

    def _refill(self, now: datetime) -> None:
        if self.rate is None:
            return
        if self.at is not None and now > self.at:
            elapsed = (now - self.at).total_seconds()
            self.tokens = min(float(self.burst), self.tokens + elapsed * self.rate)
        if self.at is None or now > self.at:
            self.at = now

    def available(self, now: datetime) -> int | None:
        """Whole launches allowed at ``now`` (``None``: no limit)."""
        if self.rate is None:
            return None
        self._refill(now)
        return math.floor(self.tokens + 1e-9)

    def take(self, now: datetime, count: int = 1) -> bool:
        """Spend ``count`` tokens if there are that many."""
        if self.rate is None:
            return True
        self._refill(now)
        if self.tokens + 1e-9 < count:
            return False
        self.tokens -= count
        return True

    def next_token(self, now: datetime) -> datetime | None:
        """When the next whole token is there (``None``: unlimited, or one is now)."""
        if self.rate is None:
            return None
        self._refill(now)
        missing = 1.0 - self.tokens
        if missing <= 1e-9:
            return None
        return now + timedelta(seconds=missing / self.rate)


@dataclass(frozen=True)
class Waiting:
    """A queued run: its Job's name, where it counts, its priority and since when."""

    name: str
    scope: RunScope
    priority: int
    queued_at: datetime


@dataclass(frozen=True)
class Plan:
    """What to release now, in order, and why the rest wait (by run name)."""

    releases: tuple[Waiting, ...]
    held: dict[str, Cap]


def _order(run: Waiting, usage: Usage) -> tuple[int, int, datetime, str]:
    return (-run.priority, usage.namespaces[run.scope.namespace], run.queued_at, run.name)


def plan_releases(limits: Limits, usage: Usage, waiting: list[Waiting], tokens: int | None) -> Plan:
    """The queued runs to start now, in order (see the module docstring), at most
    ``tokens`` (``None``: no launch rate). Each release is counted in ``usage`` as it is
    chosen (the caller reserves them so), so the next choice sees it: a namespace that got
    a run is no longer the emptiest. Counts only grow within a plan, so a run a limit
    holds once stays held until the plan ends."""
    candidates = list(waiting)
    releases: list[Waiting] = []
    held: dict[str, Cap] = {}
    while candidates:
        if tokens is not None and len(releases) >= tokens:
            held |= {run.name: Cap.LAUNCH_RATE for run in candidates}
            break
        fitting = []
        for run in candidates:
            cap = blocking_cap(limits, usage, run.scope)
            if cap is None:
                fitting.append(run)
            else:
                held[run.name] = cap
        if not fitting:
            break
        chosen = min(fitting, key=lambda run: _order(run, usage))
        releases.append(chosen)
        usage.add(chosen.scope)
        candidates = [run for run in fitting if run is not chosen]
    return Plan(tuple(releases), held)


def queue_positions(waiting: list[Waiting], usage: Usage) -> dict[str, int]:
    """Each queued run's place (1: next) in release order as things stand, the limits
    aside; a tenant is shown its own runs' places among its own (``GET /queue``)."""
    ordered = sorted(waiting, key=lambda run: _order(run, usage))
    return {run.name: i for i, run in enumerate(ordered, 1)}
