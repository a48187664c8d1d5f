"""A run store that exists before its database does.

When Postgres is unreachable at start-up the operator must still schedule (invariant nothing-lost:
history never blocks runs). It records into a :class:`DeferredRunStore`, which fails every
call with :class:`HistoryUnavailableError` until the real store is attached; the write
buffer treats that as an outage, keeps the records and reports ``Degraded``.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from almanac.core.logtail import LogTail
from almanac.history.deadletters import DeadLetter, LetterKind
from almanac.history.errors import HistoryNotConfiguredError, HistoryUnavailableError
from almanac.history.records import (
    AuditEntry,
    OutboxMessage,
    RunRecord,
    RunStats,
    RunSummary,
    RunWrite,
)
from almanac.history.states import RunState
from almanac.history.store import DEFAULT_LIMIT, LetterPage, RunPage, RunStore

__all__ = ["DeferredRunStore"]


class DeferredRunStore:
    """Delegates to ``target`` once :meth:`attach` gave it one; raises until then."""

    def __init__(
        self, reason: str = "the history database has not answered yet", *, permanent: bool = False
    ) -> None:
        self.target: RunStore | None = None
        self.reason = reason
        #: No store will ever be attached (history turned off): say so, not "wait".
        self.permanent = permanent

    def attach(self, store: RunStore) -> None:
        self.target = store

    def _store(self) -> RunStore:
        if self.target is None:
            kind = HistoryNotConfiguredError if self.permanent else HistoryUnavailableError
            raise kind(self.reason, "ALMANAC_DATABASE_URL")
        return self.target

    async def record_run(self, record: RunRecord, messages: Sequence[OutboxMessage] = ()) -> None:
        await self._store().record_run(record, messages)

    async def record_runs(self, writes: Sequence[RunWrite]) -> None:
        await self._store().record_runs(writes)

    async def enqueue(self, messages: Sequence[OutboxMessage]) -> None:
        await self._store().enqueue(messages)

    async def get_run(self, scheduledjob_uid: str, run_name: str) -> RunRecord | None:
        return await self._store().get_run(scheduledjob_uid, run_name)

    async def find_run(self, namespace: str, run_name: str) -> RunRecord | None:
        return await self._store().find_run(namespace, run_name)

    async def get_log(self, scheduledjob_uid: str, run_name: str) -> LogTail | None:
        return await self._store().get_log(scheduledjob_uid, run_name)

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
        return await self._store().list_runs(
            namespace,
            scheduledjob_uid=scheduledjob_uid,
            scheduledjob=scheduledjob,
            statuses=statuses,
            since=since,
            until=until,
            oldest_first=oldest_first,
            limit=limit,
            offset=offset,
        )

    async def has_final_record(self, scheduledjob_uid: str, run_name: str) -> bool:
        return await self._store().has_final_record(scheduledjob_uid, run_name)

    async def stats(self, namespace: str, scheduledjob_uid: str) -> RunStats:
        return await self._store().stats(namespace, scheduledjob_uid)

    async def summarize(self, namespace: str, since: datetime, until: datetime) -> RunSummary:
        return await self._store().summarize(namespace, since, until)

    async def delete_older_than(self, cutoff: datetime, batch_size: int = 1000) -> int:
        return await self._store().delete_older_than(cutoff, batch_size)

    async def record_audit(self, entry: AuditEntry) -> None:
        await self._store().record_audit(entry)

    async def record_dead_letter(self, letter: DeadLetter) -> None:
        await self._store().record_dead_letter(letter)

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
        return await self._store().list_dead_letters(
            namespace,
            scheduledjob_uid=scheduledjob_uid,
            kind=kind,
            since=since,
            until=until,
            limit=limit,
            offset=offset,
        )

    async def get_dead_letter(self, namespace: str, letter_id: int) -> DeadLetter | None:
        return await self._store().get_dead_letter(namespace, letter_id)

    async def mark_requeued(
        self, namespace: str, letter_id: int, run: str, at: datetime
    ) -> DeadLetter | None:
        return await self._store().mark_requeued(namespace, letter_id, run, at)

    async def count_audit(
        self, org_id: str, actor: str, actions: Sequence[str], since: datetime
    ) -> int:
        return await self._store().count_audit(org_id, actor, actions, since)
