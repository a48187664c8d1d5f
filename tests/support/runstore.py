"""An in-memory :class:`~almanac.history.store.RunStore` for unit tests of its callers.

It applies the same merge rule as the SQL (:func:`~almanac.history.records.merge_records`)
and can be told to fail, to exercise outage handling without a database.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Sequence
from dataclasses import replace
from datetime import UTC, datetime
from typing import Final

from almanac.core.logtail import LogTail
from almanac.core.status import RunPhase
from almanac.history.deadletters import DeadLetter, LetterKind, run_letter
from almanac.history.errors import HistoryUnavailableError
from almanac.history.records import (
    AuditEntry,
    ErrorCount,
    HourCount,
    OutboxMessage,
    RunAggregate,
    RunKey,
    RunRecord,
    RunStats,
    RunSummary,
    RunWrite,
    merge_records,
    phase_rank,
    timed_out,
)
from almanac.history.states import RunState, state_of
from almanac.history.store import DEFAULT_LIMIT, LetterPage, RunPage

__all__ = ["InMemoryRunStore", "aggregate", "percentile_cont"]

_RUNNING: Final = frozenset({RunPhase.PENDING, RunPhase.RUNNING})


def percentile_cont(values: Sequence[float], fraction: float) -> float | None:
    """Linear-interpolated percentile, as Postgres ``percentile_cont`` computes it."""
    if not values:
        return None
    ordered = sorted(values)
    position = fraction * (len(ordered) - 1)
    low, high = math.floor(position), math.ceil(position)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


def _millis(seconds: float) -> float:
    """A duration as the SQL's ``duration_ms`` column holds it (whole milliseconds)."""
    return round(seconds * 1000) / 1000


def aggregate(rows: Sequence[RunRecord]) -> RunAggregate:
    """What ``almanac.history.aggregates`` computes in SQL, over ``rows``."""
    phases = Counter(r.phase for r in rows)
    ok, bad = phases[RunPhase.SUCCEEDED], phases[RunPhase.FAILED]
    durations = [_millis(d.total_seconds()) for r in rows if (d := r.duration) is not None]
    return RunAggregate(
        total=len(rows),
        running=sum(1 for r in rows if r.phase in _RUNNING),
        succeeded=ok,
        failed=bad,
        timeouts=sum(1 for r in rows if timed_out(r)),
        skipped=phases[RunPhase.SKIPPED],
        cancelled=phases[RunPhase.CANCELLED],
        success_rate=ok / (ok + bad) if ok + bad else None,
        avg_seconds=sum(durations) / len(durations) if durations else None,
        min_seconds=min(durations, default=None),
        max_seconds=max(durations, default=None),
        p50_seconds=percentile_cont(durations, 0.5),
        p95_seconds=percentile_cont(durations, 0.95),
        p99_seconds=percentile_cont(durations, 0.99),
    )


class InMemoryRunStore:
    """Runs, audit entries and outbox messages in dicts; ``fail_next(n)`` simulates outages."""

    def __init__(self, now: datetime | None = None) -> None:
        self.runs: dict[RunKey, RunRecord] = {}
        self.audit: list[AuditEntry] = []
        self.outbox: dict[str, OutboxMessage] = {}
        self.letters: dict[tuple[str, str, str], DeadLetter] = {}
        self.writes = 0
        self._failures = 0
        self._now = now

    def fail_next(self, count: int) -> None:
        """Make the next ``count`` calls raise :class:`HistoryUnavailableError`."""
        self._failures = count

    def _maybe_fail(self) -> None:
        if self._failures > 0:
            self._failures -= 1
            raise HistoryUnavailableError("simulated outage")

    def _stamp(self) -> datetime:
        return self._now or datetime.now(UTC)

    async def record_run(self, record: RunRecord, messages: Sequence[OutboxMessage] = ()) -> None:
        await self.record_runs([RunWrite(record, tuple(messages))])

    async def record_runs(self, writes: Sequence[RunWrite]) -> None:
        self._maybe_fail()
        for write in writes:
            old = self.runs.get(write.record.key)
            merged = merge_records(old, write.record.bounded())
            now = self._stamp()
            self.runs[merged.key] = replace(
                merged, created_at=old.created_at if old else now, updated_at=now
            )
            for message in write.messages:
                self.outbox.setdefault(message.event_id, message)
            if (letter := run_letter(write.record.bounded())) is not None:
                self._add_letter(letter)
            self.writes += 1

    def _add_letter(self, letter: DeadLetter) -> None:
        if letter.key not in self.letters:
            self.letters[letter.key] = replace(letter, id=len(self.letters) + 1)

    async def enqueue(self, messages: Sequence[OutboxMessage]) -> None:
        self._maybe_fail()
        for message in messages:
            self.outbox.setdefault(message.event_id, message)

    async def get_run(self, scheduledjob_uid: str, run_name: str) -> RunRecord | None:
        self._maybe_fail()
        return self.runs.get((scheduledjob_uid, run_name))

    async def get_log(self, scheduledjob_uid: str, run_name: str) -> LogTail | None:
        self._maybe_fail()
        record = self.runs.get((scheduledjob_uid, run_name))
        return None if record is None else record.log

    async def find_run(self, namespace: str, run_name: str) -> RunRecord | None:
        self._maybe_fail()
        found = [
            r for r in self.runs.values() if (r.namespace, r.run_name) == (namespace, run_name)
        ]
        return found[-1] if found else None

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
        self._maybe_fail()
        rows = [
            r
            for r in self._window(namespace, since, until)
            if (scheduledjob_uid is None or r.scheduledjob_uid == scheduledjob_uid)
            and (scheduledjob is None or r.scheduledjob == scheduledjob)
            and (not statuses or state_of(r) in statuses)
        ]
        # The dict keeps first-insertion order, as the table's id does: ties on the slot
        # go by it, the same way round as the slot (a stable sort of the reversed list).
        if oldest_first:
            rows.sort(key=lambda r: r.slot)
        else:
            rows = sorted(reversed(rows), key=lambda r: r.slot, reverse=True)
        return rows[offset : offset + limit], len(rows)

    def _window(
        self, namespace: str, since: datetime | None, until: datetime | None
    ) -> list[RunRecord]:
        return [
            r
            for r in self.runs.values()
            if r.namespace == namespace
            and (since is None or r.slot >= since)
            and (until is None or r.slot <= until)
        ]

    async def has_final_record(self, scheduledjob_uid: str, run_name: str) -> bool:
        self._maybe_fail()
        record = self.runs.get((scheduledjob_uid, run_name))
        # As the SQL asks (rank 2): a skipped slot's row is not a run's final row.
        return record is not None and phase_rank(record.phase) == 2

    async def stats(self, namespace: str, scheduledjob_uid: str) -> RunStats:
        self._maybe_fail()
        rows = [
            r
            for r in self.runs.values()
            if r.namespace == namespace and r.scheduledjob_uid == scheduledjob_uid
        ]
        errors = Counter(r.error for r in rows if r.phase == RunPhase.FAILED and r.error)
        last_seen: dict[str, datetime | None] = {}
        for r in rows:
            if r.phase == RunPhase.FAILED and r.error and r.finished_at is not None:
                seen = last_seen.get(r.error)
                last_seen[r.error] = max(seen, r.finished_at) if seen else r.finished_at
        hours = Counter(
            (r.started_at or r.slot).astimezone(UTC).hour
            for r in rows
            if r.phase is not RunPhase.SKIPPED
        )
        return RunStats(
            **vars(aggregate(rows)),
            top_errors=tuple(
                ErrorCount(e, n, last_seen.get(e))
                for e, n in sorted(errors.items(), key=lambda i: (-i[1], i[0]))[:5]
            ),
            busiest_hours=tuple(
                HourCount(h, n) for h, n in sorted(hours.items(), key=lambda i: (-i[1], i[0]))[:5]
            ),
        )

    async def summarize(self, namespace: str, since: datetime, until: datetime) -> RunSummary:
        self._maybe_fail()
        queue = Counter(r.phase for r in self.runs.values() if r.namespace == namespace)
        return RunSummary(
            runs=aggregate(self._window(namespace, since, until)),
            running_now=queue[RunPhase.RUNNING],
            pending_now=queue[RunPhase.PENDING],
        )

    async def delete_older_than(self, cutoff: datetime, batch_size: int = 1000) -> int:
        self._maybe_fail()
        old = [
            k for k, r in self.runs.items() if r.created_at is not None and r.created_at < cutoff
        ]
        for key in old:
            del self.runs[key]
        return len(old)

    async def record_audit(self, entry: AuditEntry) -> None:
        self._maybe_fail()
        self.audit.append(entry)

    async def record_dead_letter(self, letter: DeadLetter) -> None:
        self._maybe_fail()
        self._add_letter(letter)

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
        self._maybe_fail()
        rows = [
            x
            for x in self.letters.values()
            if x.namespace == namespace
            and (scheduledjob_uid is None or x.scheduledjob_uid == scheduledjob_uid)
            and (kind is None or x.kind is kind)
            and (since is None or x.at >= since)
            and (until is None or x.at <= until)
        ]
        rows.sort(key=lambda x: (x.at, x.id or 0), reverse=True)
        return rows[offset : offset + limit], len(rows)

    async def get_dead_letter(self, namespace: str, letter_id: int) -> DeadLetter | None:
        self._maybe_fail()
        found = [x for x in self.letters.values() if (x.namespace, x.id) == (namespace, letter_id)]
        return found[0] if found else None

    async def mark_requeued(
        self, namespace: str, letter_id: int, run: str, at: datetime
    ) -> DeadLetter | None:
        letter = await self.get_dead_letter(namespace, letter_id)
        if letter is None:
            return None
        marked = replace(
            letter, requeued_at=letter.requeued_at or at, requeued_run=letter.requeued_run or run
        )
        self.letters[marked.key] = marked
        return marked

    async def count_audit(
        self, org_id: str, actor: str, actions: Sequence[str], since: datetime
    ) -> int:
        self._maybe_fail()
        return sum(
            1
            for e in self.audit
            if e.org_id == org_id and e.actor == actor and e.action in actions and e.at >= since
        )
