"""The launch limits assembled: the counts (:class:`~.runledger.RunLedger`), the check
every launch passes (:class:`~.launchgate.LaunchGate`) and the releases
(:class:`~.dispatch.Dispatcher`), fed by the Job watch through the registry."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime

from almanac.core.queueing import Limits
from almanac.core.runs import JobObservation
from almanac.core.vocabulary import EventReason

from .dispatch import Dispatcher, JobPatch
from .launchgate import LaunchGate, PriorityClasses
from .leader import Fence, always
from .namespacecache import NamespaceCache
from .queuemetrics import QueueMetrics
from .recording import RunRecorder
from .registry import Registry
from .runledger import RunLedger
from .tracked import Tracked

__all__ = ["LaunchQueue", "QueueSetup"]


async def _no_patch(namespace: str, name: str, body: object) -> None:
    raise RuntimeError(f"no API client to release {namespace}/{name}")


@dataclass(frozen=True)
class QueueSetup:
    """What the process gives the queue: the limits, the PriorityClass reader and the
    Job patch that releases a run (``None`` in tests: no API server)."""

    limits: Limits = field(default_factory=Limits)
    priorities: PriorityClasses | None = None
    patch_job: JobPatch | None = None


class LaunchQueue:
    def __init__(
        self,
        setup: QueueSetup | None,
        metrics: QueueMetrics,
        registry: Registry,
        *,
        post_event: Callable[[Tracked, EventReason, str], None],
        clock: Callable[[], datetime],
        namespaces: NamespaceCache | None = None,
        recorder: RunRecorder | None = None,
        fence: Fence = always,
    ) -> None:
        setup = setup or QueueSetup()
        self._registry = registry
        self.ledger = RunLedger(setup.limits, own_limit=self._own_limit)
        self.gate = LaunchGate(self.ledger, namespaces=namespaces, priorities=setup.priorities)
        self.dispatcher = Dispatcher(
            setup.patch_job or _no_patch,
            self.gate,
            metrics,
            owner=lambda namespace, uid: registry.owner((namespace, uid)),
            post_event=post_event,
            recorder=recorder,
            clock=clock,
            fence=fence,
        )
        registry.on_job = self.job_seen

    def _own_limit(self, namespace: str, uid: str) -> int | None:
        owner = self._registry.owner((namespace, uid))
        return owner.spec.max_concurrent_runs if owner and owner.spec else None

    def job_seen(self, namespace: str, uid: str, job: JobObservation, deleted: bool) -> None:
        """A Job as the watch shows it: counted (a run that ended frees its place)."""
        if deleted:
            self.ledger.forget(namespace, job.name)
        else:
            self.ledger.observe(namespace, uid, job)

    async def start(self) -> asyncio.Task[None]:
        """Once the watches have listed: read what the counts need, then release what
        the limits allow, for as long as this process leads."""
        await self.dispatcher.start()
        return asyncio.create_task(self.dispatcher.run())
