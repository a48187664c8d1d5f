"""Run history and notifications from the operator's side.

The scheduler and the writer hand every run they see (launched, running, finished) to
:class:`RunRecorder`, which turns it into a :class:`~almanac.history.RunRecord` plus its
outbox messages and queues both in the :class:`~almanac.history.BufferedRecorder`: nothing
here waits on Postgres. History limits ask :meth:`RunRecorder.may_delete` before deleting a
Job, so a run's Job stays until its final row is stored (invariant nothing-lost); a row
the full buffer evicted is recorded again from its Job (:meth:`RunRecorder.requeue_if_lost`).
After a restart the new leader records every Job it finds again; the upserts make that
harmless.
"""

from __future__ import annotations

import json
from collections import deque
from collections.abc import Callable, Mapping
from datetime import datetime, timedelta
from typing import Any, Final

from almanac.core.decisions import SkipReason
from almanac.core.models import Retry
from almanac.core.retry import exhausted, will_retry
from almanac.core.runs import JobObservation, RunRequest, job_name_of
from almanac.core.status import RunPhase, TriggerKind
from almanac.history import BufferedRecorder, RunRecord
from almanac.history.records import QUEUED_REASON, TIMEOUT_REASON, RunKey, ended_at_deadline
from almanac.notify import NotifySettings, messages_for_run

from .kube import ObjectRef, RunOutcome

__all__ = ["RunRecorder", "SkipRowBudget", "parse_result", "run_record", "skipped_record"]

#: Runs known to have a stored final row, remembered so pruning asks Postgres once per run.
KNOWN_FINAL_LIMIT = 100_000
#: Skipped rows one ScheduledJob may write per hour (after the core's per-pass bound): a
#: suspended per-second schedule is one pass a second, and would otherwise write a row
#: each time. The slots past the budget are still counted (status, metric).
SKIPPED_ROWS_PER_HOUR: Final = 60
_HOUR: Final = timedelta(hours=1)
_BUDGETS_KEPT: Final = 10_000


def parse_result(message: str) -> tuple[dict[str, Any] | None, str | None]:
    """The executor's ``{status, summary, details}`` as the result (its summary is the
    error when ``status`` is ``failed``); any other termination message (a custom image's
    plain text) becomes ``{"summary": text}``."""
    text = message.strip()
    if not text:
        return None, None
    try:
        value = json.loads(text)
    except ValueError:
        return {"summary": text}, None
    if not isinstance(value, dict):
        return {"summary": text}, None
    summary = value.get("summary")
    failed = value.get("status") == "failed" and isinstance(summary, str)
    return value, summary if failed else None


def run_record(
    ref: ObjectRef,
    template: str,
    job: JobObservation,
    outcome: RunOutcome | None = None,
    *,
    launched_at: datetime | None = None,
    params: Mapping[str, Any] | None = None,
    retry: Retry | None = None,
) -> RunRecord:
    """The history row of one run as its Job (and, once ended, its pod) describes it.
    ``params`` are the job's admitted ``spec.params``: an export's notice names the
    organisation and account from them, never from what the run reported. ``retry`` is
    the job's retry policy: a failed attempt's event says whether it follows (``None``:
    unknown, announced as no retry)."""
    outcome = outcome or RunOutcome()
    result, error = parse_result(outcome.message)
    failed = job.phase is RunPhase.FAILED
    timed_out = failed and (job.timed_out or ended_at_deadline(result))
    if job.phase is RunPhase.FAILED and error is None:
        error = (
            f"exit code {outcome.exit_code}"
            if outcome.exit_code
            else "the run exceeded its deadline"
            if timed_out
            else "the run failed (deadline exceeded or its pod was lost)"
        )
    dead = retry is not None and exhausted(retry, job.attempt, job.phase)
    return RunRecord(
        namespace=ref.namespace,
        scheduledjob=ref.name,
        scheduledjob_uid=ref.uid,
        run_name=job.name,
        slot=job.slot,
        phase=job.phase,
        template=template,
        trigger=job.trigger.value,
        attempt=job.attempt,
        started_at=job.start_time or launched_at,
        finished_at=job.completion_time if job.finished else None,
        exit_code=outcome.exit_code,
        event_id=job.event_id,
        params=params,
        result=result,
        error=error,
        pod=outcome.pod,
        log=outcome.log,
        reason=TIMEOUT_REASON
        if timed_out
        else f"{QUEUED_REASON}{job.queued}"
        if job.queued is not None
        else None,
        dead_lettered_at=(job.completion_time or job.start_time or job.slot) if dead else None,
        will_retry=retry is not None and will_retry(retry, job.attempt, job.phase),
    ).bounded()


def skipped_record(ref: ObjectRef, template: str, slot: datetime, reason: SkipReason) -> RunRecord:
    """The history row of a slot that did not run: phase Skipped with the reason, named
    like the run the slot would have had (trigger ``schedule``), so the real run of that
    name, should a later leader launch it after all, replaces it (a skipped row ranks
    lowest, :func:`~almanac.history.records.phase_rank`)."""
    return RunRecord(
        namespace=ref.namespace,
        scheduledjob=ref.name,
        scheduledjob_uid=ref.uid,
        run_name=job_name_of(ref.name, ref.uid, RunRequest(slot, TriggerKind.SCHEDULE)),
        slot=slot,
        phase=RunPhase.SKIPPED,
        template=template,
        trigger=TriggerKind.SCHEDULE.value,
        reason=reason.value,
    )


class SkipRowBudget:
    """At most :data:`SKIPPED_ROWS_PER_HOUR` skipped rows per ScheduledJob in any hour
    (every loop is bounded: a suspended per-second schedule must not flood the history)."""

    def __init__(self, per_hour: int = SKIPPED_ROWS_PER_HOUR) -> None:
        self.per_hour = per_hour
        self._written: dict[str, deque[datetime]] = {}

    def take(self, uid: str, now: datetime) -> bool:
        """True (and one row counted) when ``uid`` may write a skipped row at ``now``."""
        if len(self._written) >= _BUDGETS_KEPT:  # drop the jobs quiet for an hour (deleted)
            self._written = {k: v for k, v in self._written.items() if v and v[-1] > now - _HOUR}
        times = self._written.setdefault(uid, deque())
        while times and times[0] <= now - _HOUR:
            times.popleft()
        if len(times) >= self.per_hour:
            return False
        times.append(now)
        return True


class RunRecorder:
    """Queues run records with their notifications; answers whether a Job may go."""

    def __init__(self, buffer: BufferedRecorder, notify: NotifySettings) -> None:
        self.buffer = buffer
        self.notify = notify
        #: A namespace's ``almanac.dev/org-id`` label as last read (``None``: not known);
        #: never waits (the scheduler wires its namespace cache in).
        self.org_of: Callable[[str], str | None] = lambda _namespace: None
        #: Told of each phase queued (the run's spans, :mod:`almanac.operator.runtraces`).
        self.on_record: Callable[[RunRecord], None] | None = None
        self._final: set[RunKey] = set()
        self._seen: dict[RunKey, tuple[RunPhase, str | None]] = {}

    def record(self, record: RunRecord) -> None:
        """Queue ``record`` unless this phase of the run was already queued by this process
        (with the same reason: a queued run released is pending again, without it)."""
        if self._seen.get(record.key) == (record.phase, record.reason):
            return
        self._seen[record.key] = (record.phase, record.reason)
        org = self.org_of(record.namespace)
        self.buffer.submit(record, messages_for_run(record, self.notify, namespace_org=org))
        if self.on_record is not None:
            self.on_record(record)

    def forget(self, scheduledjob_uid: str, run_name: str) -> None:
        """The Job is gone: drop what this process remembers about it."""
        key = (scheduledjob_uid, run_name)
        self._seen.pop(key, None)
        self._final.discard(key)

    def requeue_if_lost(self, scheduledjob_uid: str, run_name: str) -> bool:
        """True when a run whose Job waits for its final row has none queued either (the
        full buffer evicted it): it is forgotten here, so recording it again queues it.
        Asked after :meth:`may_delete` said no while the store is healthy."""
        key = (scheduledjob_uid, run_name)
        if not self.buffer.healthy or key not in self._seen:
            return False
        if self.buffer.pending(scheduledjob_uid, run_name) is not None:
            return False
        del self._seen[key]
        return True

    async def may_delete(self, scheduledjob_uid: str, run_name: str) -> bool:
        """True once the run's final row is stored (history limits wait for it)."""
        key = (scheduledjob_uid, run_name)
        if key in self._final:
            return True
        if not self.buffer.healthy:  # an outage: keep the Job, do not wait on Postgres
            return False
        if not await self.buffer.has_final_record(scheduledjob_uid, run_name):
            return False
        if len(self._final) >= KNOWN_FINAL_LIMIT:
            self._final.clear()
        self._final.add(key)
        return True

    @property
    def healthy(self) -> bool:
        return self.buffer.healthy

    @property
    def problem(self) -> str | None:
        """Why history is degraded (for the condition), or ``None`` when writes succeed."""
        if self.buffer.healthy:
            return None
        return (
            f"run history is not being written ({self.buffer.last_error}); "
            f"{self.buffer.backlog} record(s) buffered, retrying: check ALMANAC_DATABASE_URL "
            "and that Postgres is up"
        )
