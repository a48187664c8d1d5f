"""Values stored in the run history, and the pure rules that merge and bound them.

The same rules run in three places (the SQL upsert, the in-memory fake and the write
buffer), so they are written once here as plain functions and the SQL mirrors them:

* a run's key is ``(scheduledjob_uid, run_name)``; one row per run (invariant nothing-lost);
* a later phase wins over an earlier one (:func:`phase_rank`): a ``Succeeded`` never goes
  back to ``Running`` when an old observation is replayed after an outage; a ``Skipped``
  row (a slot that did not run) ranks below everything, so a real run of that slot's name
  (caught up by a later leader) replaces it;
* once final, the first final phase stays; a second observation of the same phase only
  fills fields that were still empty;
* a result larger than :data:`MAX_RESULT_BYTES` is replaced by a marked, bounded stub.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import Any, Final

from almanac.core.errors import NaiveDatetimeError
from almanac.core.logtail import LogTail
from almanac.core.status import RunPhase
from almanac.core.tracing import run_trace_id

__all__ = [
    "FILLABLE",
    "FINAL_PHASES",
    "MAX_ERROR_CHARS",
    "MAX_RESULT_BYTES",
    "QUEUED_REASON",
    "TIMEOUT_ERROR",
    "TIMEOUT_REASON",
    "AuditEntry",
    "ErrorCount",
    "HourCount",
    "OutboxMessage",
    "RunAggregate",
    "RunKey",
    "RunRecord",
    "RunStats",
    "RunSummary",
    "RunWrite",
    "ended_at_deadline",
    "merge_records",
    "merge_writes",
    "phase_rank",
    "timed_out",
    "truncate_result",
]

#: Result JSON kept per run; the executor's contract is ≤ 4 KB, this leaves room for
#: operator-added fields while keeping a runaway result from bloating the table.
MAX_RESULT_BYTES: Final = 16 * 1024
MAX_ERROR_CHARS: Final = 4096
#: The ``details.error`` of the result the executor writes when its deadline ends a run
#: (``almanac/executor/main.py``): how the history tells a timeout from another failure.
TIMEOUT_ERROR: Final = "deadline_exceeded"
#: The ``reason`` of a failed run ended at its deadline, by the executor
#: (:data:`TIMEOUT_ERROR`) or by Kubernetes (Job condition reason ``DeadlineExceeded``).
TIMEOUT_REASON: Final = "timeout"
#: The ``reason`` of a pending run waiting in the launch queue is ``queued:<limit>``
#: (:class:`~almanac.core.queueing.Cap`); its release records it pending again without it.
QUEUED_REASON: Final = "queued:"
FINAL_PHASES: Final = frozenset(
    {RunPhase.SUCCEEDED, RunPhase.FAILED, RunPhase.SKIPPED, RunPhase.CANCELLED}
)
_RANK: Final = {RunPhase.SKIPPED: -1, RunPhase.PENDING: 0, RunPhase.RUNNING: 1}

RunKey = tuple[str, str]


def phase_rank(phase: RunPhase) -> int:
    """-1 Skipped, 0 Pending, 1 Running, 2 any other final phase; SQL
    ``almanac_phase_rank`` matches (migration 4)."""
    return _RANK.get(phase, 2)


def _aware(value: datetime | None, name: str) -> datetime | None:
    if value is not None and value.tzinfo is None:
        raise NaiveDatetimeError(f"{name} must carry a UTC offset", name)
    return value


@dataclass(frozen=True)
class RunRecord:
    """One run (a Job) as the history keeps it.

    ``created_at``/``updated_at`` are set by the store and ignored on write. ``params``
    (the params the run was launched with) is not stored: only the completion notice reads
    it, when the record is submitted, for the organisation and account an export ran as
    (admission makes an export's ``orgId`` its namespace's; the result could be forged by a
    custom image, the params cannot). ``None`` when the recorder did not know them.
    ``will_retry`` is not stored either: the run's failed event says it (whether the retry
    policy follows this failed attempt with another), decided when the run is recorded.
    ``reason`` says why a run ended as it did, in a word: a skipped slot's
    :class:`~almanac.core.decisions.SkipReason`, :data:`TIMEOUT_REASON` for a failed run
    ended at its deadline. ``dead_lettered_at`` marks a failed run that exhausted its
    retries (:func:`~almanac.core.retry.exhausted`); the phase stays ``Failed``.
    """

    namespace: str
    scheduledjob: str
    scheduledjob_uid: str
    run_name: str
    slot: datetime
    phase: RunPhase
    template: str = ""
    trigger: str = "schedule"
    attempt: int = 1
    started_at: datetime | None = None
    finished_at: datetime | None = None
    exit_code: int | None = None
    result: dict[str, Any] | None = None
    error: str | None = None
    pod: str | None = None
    event_id: str | None = None
    reason: str | None = None
    dead_lettered_at: datetime | None = None
    params: Mapping[str, Any] | None = field(default=None, compare=False, repr=False)
    will_retry: bool = field(default=False, compare=False)
    #: The tail of the run's log (:mod:`almanac.core.logtail`), stored beside the row (a
    #: list of runs never reads it); ``None``: not read, and a stored one is kept.
    log: LogTail | None = field(default=None, compare=False, repr=False)
    created_at: datetime | None = field(default=None, compare=False)
    updated_at: datetime | None = field(default=None, compare=False)

    def __post_init__(self) -> None:
        _aware(self.slot, "slot")
        _aware(self.started_at, "started_at")
        _aware(self.finished_at, "finished_at")
        _aware(self.dead_lettered_at, "dead_lettered_at")
        object.__setattr__(self, "phase", RunPhase(self.phase))

    @property
    def key(self) -> RunKey:
        """The run's identity: unique per ScheduledJob uid and Job name."""
        return (self.scheduledjob_uid, self.run_name)

    @property
    def trace_id(self) -> str:
        """The run's trace id (:func:`~almanac.core.tracing.run_trace_id`), derived from
        its key: every row has one, whether or not the run's spans were exported."""
        return run_trace_id(self.scheduledjob_uid, self.run_name)

    @property
    def final(self) -> bool:
        """True once the run reached a phase it never leaves."""
        return self.phase in FINAL_PHASES

    @property
    def duration(self) -> timedelta | None:
        """Wall time from start to finish, when both are known."""
        if self.started_at is None or self.finished_at is None:
            return None
        return self.finished_at - self.started_at

    def bounded(self) -> RunRecord:
        """This record with its result and error cut to the stored limits."""
        error = self.error
        if error is not None and len(error) > MAX_ERROR_CHARS:
            error = error[: MAX_ERROR_CHARS - 1] + "…"
        return replace(self, result=truncate_result(self.result), error=error)


#: Fields a run's winning record takes from the other when it lacks them (one list for
#: the in-memory merge and the Postgres upsert, which keeps those that are columns).
FILLABLE: Final = (
    "started_at",
    "finished_at",
    "exit_code",
    "result",
    "error",
    "pod",
    "event_id",
    "dead_lettered_at",
    "log",
)


def merge_records(old: RunRecord | None, new: RunRecord) -> RunRecord:
    """The record to keep when ``new`` is observed for a run already stored as ``old``.

    ``new`` wins when its phase ranks higher, or is the same phase (fresher details);
    otherwise ``old`` stays. Either way, fields the winner lacks are filled from the other,
    so a final record without ``started_at`` keeps the start time seen earlier; ``reason``
    is the winner's alone (a skipped slot's reason never sticks to the run that replaced it).
    """
    if old is None:
        return new
    new_wins = phase_rank(new.phase) > phase_rank(old.phase) or new.phase == old.phase
    winner, other = (new, old) if new_wins else (old, new)
    filled = {
        name: getattr(other, name)
        for name in FILLABLE
        if getattr(winner, name) is None and getattr(other, name) is not None
    }
    return replace(winner, created_at=old.created_at, **filled) if filled or new_wins else old


def truncate_result(
    result: dict[str, Any] | None, limit: int = MAX_RESULT_BYTES
) -> dict[str, Any] | None:
    """Return ``result`` if its JSON fits ``limit`` bytes, else a marked stub that does.

    The stub keeps ``status`` and a shortened ``summary`` (what a reader needs first) and
    says how large the original was: ``{"truncated": true, "original_bytes": n, ...}``.
    """
    if result is None:
        return None
    text = json.dumps(result, separators=(",", ":"), default=str)
    size = len(text.encode())
    if size <= limit:
        return result
    stub: dict[str, Any] = {"truncated": True, "original_bytes": size}
    status = result.get("status")
    if isinstance(status, str | int | float | bool):
        stub["status"] = status if not isinstance(status, str) else status[:64]
    summary = result.get("summary")
    if isinstance(summary, str):
        stub["summary"] = summary[: max(0, min(1024, limit // 4))]
    else:
        stub["preview"] = text[: max(0, min(1024, limit // 4))]
    return stub


@dataclass(frozen=True)
class OutboxMessage:
    """A notification to publish, stored in the same transaction as the run it is about.

    ``event_id`` is stable (derived from the run and phase), so a replay inserts nothing
    new and a consumer can drop a redelivery by id.
    """

    event_id: str
    topic: str
    key: str
    payload: dict[str, Any]


@dataclass(frozen=True)
class RunWrite:
    """A run record plus the outbox messages that must be committed with it."""

    record: RunRecord
    messages: tuple[OutboxMessage, ...] = ()


def merge_writes(old: RunWrite | None, new: RunWrite) -> RunWrite:
    """Merge two pending writes of one run: records by :func:`merge_records`, messages united."""
    if old is None:
        return new
    seen = {m.event_id for m in old.messages}
    messages = old.messages + tuple(m for m in new.messages if m.event_id not in seen)
    return RunWrite(merge_records(old.record, new.record), messages)


@dataclass(frozen=True)
class AuditEntry:
    """Who did what to a ScheduledJob through Almanac's interfaces (REST, run-now, ...)."""

    namespace: str
    scheduledjob: str
    actor: str
    action: str
    at: datetime
    org_id: str | None = None
    details: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        _aware(self.at, "at")


@dataclass(frozen=True)
class ErrorCount:
    """One of the most frequent failure messages of a ScheduledJob."""

    error: str
    count: int
    last_seen: datetime | None


@dataclass(frozen=True)
class HourCount:
    """Runs started in one UTC hour of the day (0-23)."""

    hour: int
    count: int


@dataclass(frozen=True)
class RunAggregate:
    """Counts and durations over a set of runs, computed by the database.

    ``running`` counts runs launched and not finished (``Pending`` or ``Running``, the run
    JSON's ``running``). ``timeouts`` counts failed runs ended at their deadline, by the
    executor or by Kubernetes (:func:`timed_out`); they are among ``failed`` too, as are
    dead-lettered runs. ``success_rate`` is succeeded /
    (succeeded + failed), ``None`` before any run finished; skipped and cancelled runs are
    counted but do not dilute it. Durations in seconds, over runs with a start and a finish.
    """

    total: int
    running: int
    succeeded: int
    failed: int
    timeouts: int
    skipped: int
    cancelled: int
    success_rate: float | None
    avg_seconds: float | None
    min_seconds: float | None
    max_seconds: float | None
    p50_seconds: float | None
    p95_seconds: float | None
    p99_seconds: float | None


@dataclass(frozen=True)
class RunStats(RunAggregate):
    """The aggregates of one ScheduledJob's whole history, its top errors and busiest hours."""

    top_errors: tuple[ErrorCount, ...]
    busiest_hours: tuple[HourCount, ...]


@dataclass(frozen=True)
class RunSummary:
    """An organisation's runs whose slot falls in a window, and its queue now.

    ``running_now`` and ``pending_now`` count the namespace's ``Running`` and ``Pending`` rows
    whatever their slot: a run launched before the window and still going is in the queue.
    """

    runs: RunAggregate
    running_now: int
    pending_now: int


def timed_out(record: RunRecord) -> bool:
    """True for a failed run ended at its deadline: its ``reason`` is
    :data:`TIMEOUT_REASON` (the SQL of the aggregates tests the same; migration 4 marked
    the rows stored before the column existed from their result)."""
    return record.phase is RunPhase.FAILED and record.reason == TIMEOUT_REASON


def ended_at_deadline(result: Mapping[str, Any] | None) -> bool:
    """True when the executor's result says it ended the run at its deadline (its
    ``details.error`` is :data:`TIMEOUT_ERROR`)."""
    details = (result or {}).get("details")
    return isinstance(details, dict) and details.get("error") == TIMEOUT_ERROR
