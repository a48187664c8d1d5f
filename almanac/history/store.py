"""The run-history port: what the operator and the facade may ask of the history.

Two implementations share this :class:`RunStore` protocol: the Postgres one
(:mod:`almanac.history.postgres`) and the in-memory fake of the tests
(``tests/support/runstore.py``) for unit tests of callers. Writes of a run and of its
notifications happen in one transaction, which is what makes notifications impossible to
lose (invariant nothing-lost).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Protocol, runtime_checkable

from almanac.core.logtail import LogTail
from almanac.history.deadletters import DeadLetter, LetterKind
from almanac.history.records import (
    AuditEntry,
    OutboxMessage,
    RunRecord,
    RunStats,
    RunSummary,
    RunWrite,
)
from almanac.history.states import RunState

__all__ = ["DEFAULT_LIMIT", "MAX_LIMIT", "LetterPage", "RunPage", "RunStore"]

DEFAULT_LIMIT = 50
MAX_LIMIT = 500

#: One page of runs, in the order asked, and the total matching the filter.
RunPage = tuple[list[RunRecord], int]
#: One page of dead letters, newest first, and the total matching the filter.
LetterPage = tuple[list[DeadLetter], int]


@runtime_checkable
class RunStore(Protocol):
    """Run history storage; every method may raise on an outage (the buffer absorbs it)."""

    async def record_run(self, record: RunRecord, messages: Sequence[OutboxMessage] = ()) -> None:
        """Upsert one run (later phase wins) and enqueue its messages, atomically; a run
        marked dead-lettered gets its dead letter in the same transaction."""

    async def record_runs(self, writes: Sequence[RunWrite]) -> None:
        """Upsert several runs and their messages in one transaction."""

    async def enqueue(self, messages: Sequence[OutboxMessage]) -> None:
        """Enqueue notifications not tied to a run (ScheduledJob lifecycle events)."""

    async def get_run(self, scheduledjob_uid: str, run_name: str) -> RunRecord | None:
        """The stored run, or ``None``."""

    async def find_run(self, namespace: str, run_name: str) -> RunRecord | None:
        """The newest stored run of that name in ``namespace`` (its Job may be gone)."""

    async def get_log(self, scheduledjob_uid: str, run_name: str) -> LogTail | None:
        """The log tail stored with the run (``None``: none was kept); it goes with the
        run when retention deletes it."""

    async def list_runs(
        self,
        namespace: str,
        *,
        scheduledjob_uid: str | None = None,
        scheduledjob: str | None = None,
        statuses: Sequence[RunState] = (),
        since: datetime | None = None,
        until: datetime | None = None,
        oldest_first: bool = False,
        limit: int = DEFAULT_LIMIT,
        offset: int = 0,
    ) -> RunPage:
        """Runs of one ScheduledJob (by uid, or by name) in one of ``statuses`` (states:
        ``Failed`` is a failure neither timed out nor dead-lettered) whose slot is in ``[since,
        until]``, newest slot first (oldest first if asked; ties in the order the runs were
        first stored), and the total."""

    async def has_final_record(self, scheduledjob_uid: str, run_name: str) -> bool:
        """True once the run's final phase is stored: only then may its Job be deleted."""

    async def stats(self, namespace: str, scheduledjob_uid: str) -> RunStats:
        """Counts, success rate, durations, top errors, busiest hours."""

    async def summarize(self, namespace: str, since: datetime, until: datetime) -> RunSummary:
        """Aggregates of the namespace's runs whose slot is in ``[since, until]``, and its
        queue (runs pending or running now, whatever their slot)."""

    async def delete_older_than(self, cutoff: datetime, batch_size: int = 1000) -> int:
        """Delete runs created before ``cutoff`` in batches; return how many went."""

    async def record_audit(self, entry: AuditEntry) -> None:
        """Append one audit entry."""

    async def record_dead_letter(self, letter: DeadLetter) -> None:
        """Store ``letter`` unless one of its key is stored already (a refused event's)."""

    async def list_dead_letters(
        self,
        namespace: str,
        *,
        scheduledjob_uid: str | None = None,
        kind: LetterKind | None = None,
        since: datetime | None = None,
        until: datetime | None = None,
        limit: int = DEFAULT_LIMIT,
        offset: int = 0,
    ) -> LetterPage:
        """The namespace's dead letters parked in ``[since, until]``, newest first."""

    async def get_dead_letter(self, namespace: str, letter_id: int) -> DeadLetter | None:
        """Letter ``letter_id`` if it is ``namespace``'s."""

    async def mark_requeued(
        self, namespace: str, letter_id: int, run: str, at: datetime
    ) -> DeadLetter | None:
        """Mark the letter requeued as run ``run`` (a second mark keeps the first); the
        letter as marked, ``None`` when ``namespace`` has no such letter."""

    async def count_audit(
        self, org_id: str, actor: str, actions: Sequence[str], since: datetime
    ) -> int:
        """How many entries ``actor`` of ``org_id`` has with one of ``actions`` from
        ``since`` on (the facade's per-user rate limits)."""
