"""Per-organisation and per-user limits of the facade: no tenant takes all of it.

* **Jobs per organisation** (``ALMANAC_API_MAX_JOBS_PER_ORG``, default 1000, 0 = none): a
  create over the limit is a 429 naming it; the count is the namespace's ScheduledJobs
  (kubectl-made ones included), read from the facade's watched copy.
* **Manual runs per user per hour** (``ALMANAC_API_MANUAL_RUNS_PER_HOUR``, default 10 as in
  seed 003, 0 = none): run-now and retry together. They are counted from the audit log
  (shared by every facade replica) plus this process's rows still queued for it, under a
  per-user lock, so one replica never lets more through; replicas answering the same user
  at the same instant may each let one more through. When the history cannot be read the
  request is allowed, logged and counted (``almanac_api_limit_checks_failed``): a limit
  protects the shared platform, it must not turn a database outage into refused runs.
"""

from __future__ import annotations

import asyncio
import logging
import weakref
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Final

from prometheus_client import Counter

from almanac.api.audit import AuditWriter
from almanac.api.errors import TooManyRequestsError
from almanac.api.identity import Identity
from almanac.history.store import RunStore

__all__ = ["MANUAL_ACTIONS", "Limits"]

log = logging.getLogger("almanac.api")
#: The audit actions that count as manual runs.
MANUAL_ACTIONS: Final = ("run", "retry", "test-notifications")
_WINDOW: Final = timedelta(hours=1)


@dataclass
class Limits:
    """The configured limits and what checking them needs."""

    store: RunStore
    audit: AuditWriter
    clock: Callable[[], datetime]
    max_jobs_per_org: int = 1000
    manual_runs_per_hour: int = 10
    failures: Counter | None = None
    _locks: weakref.WeakValueDictionary[tuple[str, str], asyncio.Lock] = field(
        default_factory=weakref.WeakValueDictionary
    )

    def check_job_count(self, who: Identity, jobs: int) -> None:
        """Refuse one more job when the organisation has ``max_jobs_per_org``."""
        if self.max_jobs_per_org and jobs >= self.max_jobs_per_org:
            raise TooManyRequestsError(
                f"organisation {who.org_id!r} has {jobs} jobs, the most allowed "
                f"({self.max_jobs_per_org}); delete jobs it no longer needs, or ask an "
                "administrator to raise ALMANAC_API_MAX_JOBS_PER_ORG",
                "",
            )

    @asynccontextmanager
    async def manual_run(self, who: Identity) -> AsyncIterator[None]:
        """Hold the caller's manual-run slot while the run is asked for and its audit row
        queued; refuse with 429 when the last hour has ``manual_runs_per_hour`` already."""
        if not self.manual_runs_per_hour:
            yield
            return
        key = (who.org_id, who.actor)
        lock = self._locks.get(key)
        if lock is None:
            lock = self._locks[key] = asyncio.Lock()
        async with lock:
            used = await self._used(who) + self.audit.unwritten(*key, MANUAL_ACTIONS)
            if used >= self.manual_runs_per_hour:
                raise TooManyRequestsError(
                    f"{who.actor!r} asked for {used} manual runs (run now, retry or a notification "
                    "test) in the "
                    f"last hour, the most allowed ({self.manual_runs_per_hour}); wait, or "
                    "let the schedule run the job",
                    "",
                )
            yield

    async def _used(self, who: Identity) -> int:
        since = self.clock() - _WINDOW
        try:
            return await self.store.count_audit(who.org_id, who.actor, MANUAL_ACTIONS, since)
        except Exception:  # fail open: see the module docstring
            log.warning("manual-run limit not checked: history unreadable", exc_info=True)
            if self.failures is not None:
                self.failures.inc()
            return 0
