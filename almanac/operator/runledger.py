"""Every run the leader knows, counted where the launch limits look: active runs per
namespace, organisation, ScheduledJob and in all, and the runs waiting in the queue.

Fed by the Job watch (what exists) and by this process's own decisions before the watch
shows them (a launch reserves its place, a release its run), so two launches of one pass
never both take the last place. Nothing here awaits: a check and its reservation are one
synchronous step (:meth:`RunLedger.admit`, :meth:`RunLedger.plan`). A new leader starts
empty and is filled by the watch's first list, before the scheduler's first pass (which
waits for ``registry.synced``).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import datetime
from enum import Enum

from almanac.core.queueing import (
    Cap,
    Limits,
    Plan,
    RunScope,
    TokenBucket,
    Usage,
    Waiting,
    blocking_cap,
    plan_releases,
)
from almanac.core.runs import JobObservation

__all__ = ["Entry", "RunLedger", "State"]

Key = tuple[str, str]  # (namespace, Job name)


class State(Enum):
    ACTIVE = "active"
    QUEUED = "queued"
    #: Suspended by someone else (no queue mark): neither counted nor released.
    IDLE = "idle"


@dataclass
class Entry:
    namespace: str
    owner: str  # the ScheduledJob's uid
    state: State
    priority: int = 0
    queued_at: datetime | None = None
    reason: str | None = None
    #: False while the entry is only this process's reservation (the watch has not spoken).
    observed: bool = False


class RunLedger:
    def __init__(
        self, limits: Limits, *, own_limit: Callable[[str, str], int | None] = lambda _n, _o: None
    ) -> None:
        self.limits = limits
        #: A ScheduledJob's ``spec.maxConcurrentRuns`` by (namespace, uid), read when
        #: deciding, so an edit applies to the runs already waiting.
        self._own_limit = own_limit
        self.usage = Usage()
        self.bucket = TokenBucket(limits.launches_per_second, limits.burst)
        self.entries: dict[Key, Entry] = {}
        self.queued: dict[Key, Entry] = {}
        self._orgs: dict[str, str | None] = {}
        #: Queued runs that only the launch rate holds (the last plan's count): a new run
        #: does not take the next token before them.
        self.rate_held = 0
        #: Called when a run stops being active while runs wait (a place is free).
        self.on_freed: Callable[[], None] = lambda: None
        #: Called when a new run waits for the launch rate (the next token is its).
        self.on_rate_held: Callable[[], None] = lambda: None

    # -- scopes --------------------------------------------------------------------------

    def set_org(self, namespace: str, org: str | None) -> None:
        """The namespace's organisation as last read: its active runs count there."""
        old = self._orgs.get(namespace)
        self._orgs[namespace] = org
        if old == org:
            return
        active = self.usage.namespaces[namespace]
        if old is not None:
            self.usage.orgs[old] -= active
        if org is not None:
            self.usage.orgs[org] += active
        if old is not None and self.queued:
            self.on_freed()

    def knows_org(self, namespace: str) -> bool:
        return namespace in self._orgs

    def namespaces(self) -> set[str]:
        """Namespaces with a run known here (a new leader reads their organisations)."""
        return {entry.namespace for entry in self.entries.values()}

    def scope(self, namespace: str, owner: str) -> RunScope:
        own = self._own_limit(namespace, owner)
        return RunScope(namespace, self._orgs.get(namespace), owner, own)

    # -- what the watch shows ------------------------------------------------------------

    def observe(self, namespace: str, owner: str, job: JobObservation) -> None:
        """A Job as its watch shows it (not deleted)."""
        key = (namespace, job.name)
        if job.finished:
            self.forget(namespace, job.name)
            return
        state = (
            State.ACTIVE if job.active else State.QUEUED if job.queued is not None else State.IDLE
        )
        entry = Entry(
            namespace,
            owner,
            state,
            priority=job.priority,
            queued_at=job.queued_at,
            reason=job.queued,
            observed=True,
        )
        known = self.entries.get(key)
        releasing = known is not None and not known.observed and known.state is State.ACTIVE
        if releasing and state is State.QUEUED:
            return  # our release is on its way: the watch shows the Job from before it
        self._put(key, entry)

    def forget(self, namespace: str, name: str) -> None:
        """The Job is gone or finished."""
        self._put((namespace, name), None)

    def _put(self, key: Key, entry: Entry | None, *, quiet: bool = False) -> None:
        old = self.entries.pop(key, None)
        self.queued.pop(key, None)
        if old is not None and old.state is State.ACTIVE:
            self.usage.add(self.scope(old.namespace, old.owner), -1)
        if entry is not None:
            self.entries[key] = entry
            if entry.state is State.ACTIVE:
                self.usage.add(self.scope(entry.namespace, entry.owner))
            elif entry.state is State.QUEUED:
                self.queued[key] = entry
        freed = old is not None and old.state is State.ACTIVE
        still = entry is not None and entry.state is State.ACTIVE
        if freed and not still and not quiet and self.queued:
            self.on_freed()

    # -- decisions (no await between check and reservation) ----------------------------

    def admit(
        self, namespace: str, owner: str, name: str, priority: int, now: datetime
    ) -> Cap | None:
        """Check a new run against the limits and reserve its place: ``None`` (it starts)
        or the limit that queues it. A Job this ledger already knows exists: nothing is
        reserved (its create meets AlreadyExists)."""
        key = (namespace, name)
        if key in self.entries:
            return None
        scope = self.scope(namespace, owner)
        cap = blocking_cap(self.limits, self.usage, scope)
        if cap is None and (self.rate_held or not self.bucket.take(now)):
            cap = Cap.LAUNCH_RATE
        state = State.ACTIVE if cap is None else State.QUEUED
        entry = Entry(namespace, owner, state, priority, now, cap.value if cap else None)
        self._put(key, entry)
        if cap is Cap.LAUNCH_RATE:
            self.rate_held += 1  # later runs queue behind it until a plan says otherwise
            self.on_rate_held()
        return cap

    def unreserve(self, namespace: str, name: str) -> None:
        """A launch that did not create its Job (failed, or it existed): drop what only
        this process thought; the watch tells the rest."""
        entry = self.entries.get((namespace, name))
        if entry is not None and not entry.observed:
            self._put((namespace, name), None)

    def plan(self, now: datetime) -> Plan:
        """Choose the queued runs to release now and reserve their places (each released
        entry turns active, a reservation until the watch shows the Job running)."""
        waiting = [
            Waiting(
                name=f"{namespace}/{name}",
                scope=self.scope(namespace, entry.owner),
                priority=entry.priority,
                queued_at=entry.queued_at or now,
            )
            for (namespace, name), entry in self.queued.items()
        ]
        plan = plan_releases(self.limits, self.usage, waiting, self.bucket.available(now))
        self.bucket.take(now, len(plan.releases))
        for run in plan.releases:
            namespace, name = run.name.split("/", 1)
            entry = self.queued.pop((namespace, name))
            entry.state, entry.observed = State.ACTIVE, False  # counted by plan_releases
        self.rate_held = sum(cap is Cap.LAUNCH_RATE for cap in plan.held.values())
        return plan

    def unrelease(self, namespace: str, name: str) -> None:
        """A release whose patch failed: the run waits again. Quietly: the dispatcher's
        next round retries it, not a loop of plans against a failing API server."""
        key = (namespace, name)
        entry = self.entries.get(key)
        if entry is not None and not entry.observed and entry.state is State.ACTIVE:
            self._put(key, replace(entry, state=State.QUEUED, observed=True), quiet=True)

    def queued_by_namespace(self) -> Counter[str]:
        return Counter(entry.namespace for entry in self.queued.values())
