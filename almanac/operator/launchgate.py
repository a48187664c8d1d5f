"""The launch limits at the one door runs go through: before the launcher creates a Job,
the gate decides whether it starts or waits in the queue (created suspended).

The reads a decision needs (the namespace's organisation, the PriorityClass's value) are
awaited first; then the check and the reservation are one synchronous step in the
:class:`~.runledger.RunLedger`, so launches running concurrently (a burst of events, the
dispatcher's releases) never both take the last place under a limit.
"""

from __future__ import annotations

import json
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime

from kubernetes_asyncio import client

from almanac.core.queueing import Cap

from .kube import read_reply
from .namespacecache import NamespaceCache
from .runledger import RunLedger
from .tracked import Tracked

__all__ = ["Admission", "LaunchGate", "PriorityClasses", "priority_class_lister"]

#: PriorityClass name -> value, and the value of the cluster's globalDefault class (if any).
ClassTable = tuple[dict[str, int], int]


def priority_class_lister(api: client.ApiClient) -> Callable[[], Awaitable[ClassTable]]:
    """Lists the cluster's PriorityClasses (a handful: one call, no watch needed)."""
    scheduling = client.SchedulingV1Api(api)

    async def read() -> ClassTable:
        reply = json.loads(await read_reply(scheduling.list_priority_class(_preload_content=False)))
        values: dict[str, int] = {}
        default = 0
        for item in reply.get("items") or []:
            name, value = item["metadata"]["name"], int(item.get("value") or 0)
            values[name] = value
            if item.get("globalDefault"):
                default = value
        return values, default

    return read


class PriorityClasses:
    """PriorityClass values as Kubernetes gives them to pods: the named class's, else the
    ``globalDefault`` class's, else 0. Values are immutable, so a table read at most once
    per ``ttl`` (and again when a name is missing) is exact for every class it holds."""

    def __init__(
        self,
        read: Callable[[], Awaitable[ClassTable]],
        *,
        ttl: float = 60.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._read = read
        self._ttl = ttl
        self._clock = clock
        self._table: ClassTable | None = None
        self._at = 0.0

    async def exists(self, name: str) -> bool:
        """Whether a PriorityClass of that name exists (admission's check)."""
        await self.value(name)
        assert self._table is not None
        return name in self._table[0]

    async def value(self, name: str | None) -> int:
        stale = self._table is None or self._clock() - self._at >= self._ttl
        missing = self._table is not None and name is not None and name not in self._table[0]
        if stale or (missing and self._clock() - self._at >= 1.0):
            try:
                self._table, self._at = await self._read(), self._clock()
            except Exception:
                if self._table is None:
                    raise  # never guessed: the launch is retried
        assert self._table is not None
        values, default = self._table
        return values.get(name, default) if name is not None else default


@dataclass(frozen=True)
class Admission:
    """A new run's verdict: ``queued`` is the limit that holds it (``None``: it starts)."""

    queued: Cap | None
    priority: int


class LaunchGate:
    def __init__(
        self,
        ledger: RunLedger,
        *,
        namespaces: NamespaceCache | None = None,
        priorities: PriorityClasses | None = None,
    ) -> None:
        self.ledger = ledger
        self.namespaces = namespaces
        self.priorities = priorities

    async def admit(self, t: Tracked, job: str, now: datetime) -> Admission:
        """Reserve ``job``'s place: it starts, or it waits for the limit named."""
        namespace = t.ref.namespace
        if self.ledger.limits.per_org is not None and self.namespaces is not None:
            self.ledger.set_org(namespace, (await self.namespaces.get(namespace)).org_id)
        wanted = t.spec.priority if t.spec is not None else None
        priority = (
            await self.priorities.value(wanted)
            if self.priorities is not None and self._may_queue(t)
            else 0
        )
        # No await from here to the reservation: the check and the count are one step.
        return Admission(self.ledger.admit(namespace, t.ref.uid, job, priority, now), priority)

    def _may_queue(self, t: Tracked) -> bool:
        """A priority only orders the queue: with no limit that could hold this run, its
        launch reads no PriorityClass (nor fails when they cannot be read)."""
        limits = self.ledger.limits
        own_limit = t.spec is not None and t.spec.max_concurrent_runs is not None
        return limits.caps_active or limits.launches_per_second is not None or own_limit

    def settle(self, namespace: str, job: str, *, created: bool) -> None:
        """After the create: a Job not created by this launch (it existed, or the create
        failed) gives its reservation back."""
        if not created:
            self.ledger.unreserve(namespace, job)

    async def read_orgs(self) -> None:
        """A new leader's organisations of every namespace with runs, before its first
        launch (organisation limits count every namespace of an organisation)."""
        if self.ledger.limits.per_org is None or self.namespaces is None:
            return
        for namespace in sorted(self.ledger.namespaces()):
            if not self.ledger.knows_org(namespace):
                self.ledger.set_org(namespace, (await self.namespaces.get(namespace)).org_id)
