"""The status a reconcile pass writes: run fields rebuilt from the Jobs, conditions that
say why something is (not) running, and the bookkeeping the schedule needs.

Pure: everything comes from the pass's :class:`~almanac.core.snapshot.Snapshot` and what
the pass decided (``extra``), so the status a situation gets is a table test away."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any

from almanac.core.errors import AlmanacError
from almanac.core.naming import rfc3339_utc
from almanac.core.runs import JobObservation
from almanac.core.runstatus import summarize_runs
from almanac.core.snapshot import Snapshot
from almanac.core.status import ConditionType, RunCounts
from almanac.core.streak import Streak
from almanac.core.vocabulary import ANNOTATION_SUSPEND_REASON, ConditionReason

__all__ = ["compose_status"]


def _iso(instant: datetime | None) -> str | None:
    return rfc3339_utc(instant) if instant else None


def _conditions(
    t: Snapshot, now: datetime, wanted: list[tuple[ConditionType, bool, str, str]]
) -> list[dict[str, Any]]:
    """Conditions keep their transition time while their status does not change."""
    previous = {c.type: c for c in t.status.conditions or []}
    out = []
    for kind, on, reason, message in wanted:
        status = "True" if on else "False"
        before = previous.get(kind)
        since = before.last_transition_time if before and before.status == status else now
        out.append(
            {
                "type": kind.value,
                "status": status,
                "reason": str(reason),
                "message": message,
                "lastTransitionTime": _iso(since),
                "observedGeneration": t.generation,
            }
        )
    return out


def compose_status(
    t: Snapshot,
    now: datetime,
    *,
    jobs: Iterable[JobObservation] | None = None,
    invalid: AlmanacError | None = None,
    missing_template: str | None = None,
    summary: str | None = None,
    next_run: datetime | None = None,
    complete: bool = False,
    extra: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """The status document; ``jobs`` are the Jobs left after the pass (default: all)."""
    extra = extra or {}
    degraded = t.degraded
    previous = t.status.counts or RunCounts()
    counts = previous.model_copy(
        update={
            k: extra[k]
            for k in ("launched", "skipped", "pruned_succeeded", "pruned_failed")
            if k in extra
        }
    )
    runs = summarize_runs(
        t.jobs.values() if jobs is None else jobs,
        previous_counts=counts,
        previous_success=t.status.last_successful_time,
        messages=t.messages,
        previous_start=t.status.last_start_time,
    )
    suspended = bool(t.spec and t.spec.suspend)
    suspend_reason = t.annotations.get(ANNOTATION_SUSPEND_REASON, "")
    if invalid is not None:
        ready = (False, ConditionReason.INVALID_SPEC, str(invalid))
    elif missing_template:
        ready = (
            False,
            ConditionReason.TEMPLATE_NOT_FOUND,
            f"no JobTemplate or ClusterJobTemplate named {missing_template!r}; "
            "create it or fix spec.template",
        )
    elif complete:
        ready = (False, ConditionReason.COMPLETE, "bounded schedule finished: no run will follow")
    elif suspended:
        ready = (False, ConditionReason.SUSPENDED, suspend_reason or "spec.suspend is true")
    else:
        ready = (
            True,
            ConditionReason.SCHEDULED,
            f"next run {_iso(next_run)}" if next_run else "waiting",
        )
    conditions = _conditions(
        t,
        now,
        [
            (ConditionType.READY, *ready),
            (
                ConditionType.SUSPENDED,
                suspended,
                ConditionReason.SUSPENDED if suspended else ConditionReason.RUNNING,
                suspend_reason,
            ),
            (
                ConditionType.INVALID_SPEC,
                invalid is not None,
                ConditionReason.INVALID_SPEC if invalid else ConditionReason.VALID,
                str(invalid) if invalid else "",
            ),
            (
                ConditionType.COMPLETE,
                complete,
                ConditionReason.COMPLETE if complete else ConditionReason.SCHEDULING,
                "",
            ),
            (
                ConditionType.DEGRADED,
                degraded is not None,
                ConditionReason.HISTORY_UNAVAILABLE if degraded else ConditionReason.HEALTHY,
                degraded or "",
            ),
        ],
    )
    return {
        "observedGeneration": t.generation,
        "conditions": conditions,
        "scheduleSummary": summary,
        "nextRunTime": _iso(next_run),
        "lastScheduleTime": _iso(extra.get("last_schedule_time", t.status.last_schedule_time)),
        "lastSuccessfulTime": _iso(runs.last_successful_time),
        "lastStartTime": _iso(runs.last_start_time),
        "active": [a.model_dump(mode="json", by_alias=True, exclude_none=True) for a in runs.active]
        or None,
        "activeCount": runs.active_count,
        "queuedCount": runs.queued_count or None,
        "lastRun": runs.last_run.model_dump(mode="json", by_alias=True, exclude_none=True)
        if runs.last_run
        else None,
        "counts": runs.counts.model_dump(mode="json", by_alias=True),
        "scheduleAnchor": _iso(extra.get("schedule_anchor", t.status.schedule_anchor)),
        "scheduleHash": extra.get("schedule_hash", t.status.schedule_hash),
        "runNowKeys": extra.get("run_now_keys", t.status.run_now_keys),
        "triggers": _trigger_counts(t),
        **_streak_fields(t, extra),
    }


def _streak_fields(t: Snapshot, extra: Mapping[str, Any]) -> dict[str, Any]:
    """The failure streak the pass tracked, else the one status held (a pass that runs
    nothing, for an invalid spec or a missing template, keeps it as it was)."""
    streak = extra.get("failure_streak")
    if isinstance(streak, Streak):
        return streak.status_fields()
    return Streak(t.status.consecutive_failures or 0, t.status.failures_counted_to).status_fields()


def _trigger_counts(t: Snapshot) -> list[dict[str, Any]] | None:
    """Counters of the spec's triggers, in spec order (a renamed trigger starts at 0)."""
    if not t.trigger_names:
        return None
    out = []
    for name in t.trigger_names:
        counts = t.trigger_counts.get(name, {})
        entry: dict[str, Any] = {"name": name}
        for field in ("received", "matched", "launched", "cancelled", "failed"):
            entry[field] = counts.get(field, 0)
        if counts.get("last_error"):
            entry["lastError"] = counts["last_error"]
        out.append(entry)
    return out
