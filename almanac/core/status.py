"""The ``ScheduledJob`` status, run phases, triggers and condition types.

Status is written only by the operator (GitOps tools never see a spec diff) and is rebuilt
from the Jobs on every pass, so it stays bounded: ``active`` lists live runs, ``lastRun`` the
latest finished one, ``counts`` the totals; full history lives in Postgres.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Literal

from pydantic import AwareDatetime, Field

from almanac.core.base import StatusModel
from almanac.core.vocabulary import ConditionType

__all__ = [
    "ActiveRun",
    "Condition",
    "ConditionType",
    "LastRun",
    "RunCounts",
    "RunPhase",
    "ScheduledJobStatus",
    "StreakMark",
    "TriggerCounts",
    "TriggerKind",
]


class RunPhase(StrEnum):
    """Lifecycle of one run (CR status and history rows share it)."""

    PENDING = "Pending"
    RUNNING = "Running"
    SUCCEEDED = "Succeeded"
    FAILED = "Failed"
    SKIPPED = "Skipped"
    CANCELLED = "Cancelled"


class TriggerKind(StrEnum):
    """Why a run exists; part of its name, its labels and its history row."""

    SCHEDULE = "schedule"
    CATCHUP = "catchup"
    MANUAL = "manual"
    RETRY = "retry"
    EVENT = "event"
    AFTER = "after"
    BACKFILL = "backfill"


class Condition(StatusModel):
    """A Kubernetes-style condition."""

    type: ConditionType = Field(description="Condition type.")
    status: Literal["True", "False", "Unknown"] = Field(description="True, False or Unknown.")
    reason: str = Field(max_length=1024, description="CamelCase machine-readable reason.")
    message: str = Field("", max_length=32768, description="Human-readable details.")
    last_transition_time: AwareDatetime = Field(description="When status last changed.")
    observed_generation: int | None = Field(
        None, ge=0, description="metadata.generation the condition was computed from."
    )


class ActiveRun(StatusModel):
    """A run whose Job has not finished."""

    job: str = Field(max_length=63, description="Job name.")
    slot: AwareDatetime = Field(description="Nominal slot time of the run.")
    attempt: int = Field(1, ge=1, description="Attempt number, from 1.")
    start_time: AwareDatetime | None = Field(None, description="When the Job was created.")
    trigger: TriggerKind = Field(TriggerKind.SCHEDULE, description="Why the run exists.")
    queued: bool | None = Field(
        None, description="True while the run waits in the launch queue (its Job suspended)."
    )
    queue_reason: str | None = Field(
        None,
        max_length=64,
        description="The limit it waits for: maxConcurrentRuns, namespace, organisation, "
        "cluster or launchRate.",
    )


class LastRun(StatusModel):
    """The most recently finished run."""

    job: str = Field(max_length=63, description="Job name.")
    slot: AwareDatetime = Field(description="Nominal slot time of the run.")
    trigger: TriggerKind = Field(description="Why the run existed.")
    phase: RunPhase = Field(description="Final phase.")
    start_time: AwareDatetime | None = Field(None, description="When the Job was created.")
    completion_time: AwareDatetime | None = Field(None, description="When it finished.")
    message: str = Field("", max_length=4096, description="Result summary.")


class RunCounts(StatusModel):
    """Totals since the ScheduledJob was created."""

    succeeded: int = Field(0, ge=0, description="Runs that succeeded.")
    failed: int = Field(0, ge=0, description="Runs that failed for good.")
    skipped: int = Field(0, ge=0, description="Slots skipped (suspend, overlap, catch-up).")
    pruned_succeeded: int = Field(
        0, ge=0, description="Succeeded runs whose Jobs history limits already deleted."
    )
    pruned_failed: int = Field(
        0, ge=0, description="Failed runs whose Jobs history limits already deleted."
    )
    launched: int = Field(
        0, ge=0, description="Time-based runs launched (schedule, catch-up); maxRuns counts these."
    )


class StreakMark(StatusModel):
    """The newest finished run the failure streak has counted: each run counts once,
    however many passes see it (and after a restart, since status survives it)."""

    job: str = Field(max_length=63, description="Job name.")
    finished: AwareDatetime = Field(description="Its completion time (its slot if unknown).")
    failing: bool | None = Field(
        None,
        description="The newest run that decided (succeeded, or failed with no retry left) "
        "failed: the next success is a recovery (spec.notifications' Recovered).",
    )


class TriggerCounts(StatusModel):
    """What one trigger of ``spec.triggers`` has done since the ScheduledJob was created."""

    name: str = Field(max_length=63, description="Trigger name (spec.triggers[].name).")
    received: int = Field(0, ge=0, description="Events read from the trigger's topic.")
    matched: int = Field(0, ge=0, description="Events the filter accepted.")
    launched: int = Field(0, ge=0, description="Runs launched.")
    cancelled: int = Field(0, ge=0, description="Pending runs cancelled by a cancelOn event.")
    failed: int = Field(0, ge=0, description="Events refused (malformed, bad mapping).")
    last_error: str | None = Field(
        None, max_length=1024, description="Why the latest refused event was refused."
    )


class ScheduledJobStatus(StatusModel):
    """Observed state, written by the operator only."""

    observed_generation: int | None = Field(
        None, ge=0, description="metadata.generation last processed."
    )
    conditions: list[Condition] | None = Field(
        None,
        description="Ready, Suspended, InvalidSpec, Degraded, Complete.",
        json_schema_extra={"x-kubernetes-list-type": "map", "x-kubernetes-list-map-keys": ["type"]},
    )
    schedule_summary: str | None = Field(
        None, description="One-line schedule summary (SCHEDULE column)."
    )
    next_run_time: AwareDatetime | None = Field(None, description="Next slot, if any.")
    last_schedule_time: AwareDatetime | None = Field(
        None, description="Latest slot launched or skipped."
    )
    last_successful_time: AwareDatetime | None = Field(
        None, description="Completion time of the latest successful run."
    )
    last_start_time: AwareDatetime | None = Field(
        None,
        description="Start of the newest run, finished or running (LAST RUN column); "
        "unlike lastScheduleTime it does not move with skipped slots.",
    )
    active: list[ActiveRun] | None = Field(
        None, description="Runs in progress, the oldest 20 (activeCount counts all)."
    )
    active_count: int | None = Field(
        None, ge=0, description="Runs in progress, queued ones included (ACTIVE column)."
    )
    queued_count: int | None = Field(
        None, ge=0, description="Runs waiting in the launch queue for a limit to allow them."
    )
    last_run: LastRun | None = Field(None, description="The latest finished run.")
    counts: RunCounts | None = Field(None, description="Run totals.")
    schedule_anchor: AwareDatetime | None = Field(
        None,
        description="Slots at or before this instant never run (set when the schedule is edited).",
    )
    schedule_hash: str | None = Field(
        None, max_length=64, description="Digest of the schedule the anchor belongs to."
    )
    run_now_keys: list[str] | None = Field(
        None, max_length=20, description="Recent run-now idempotency keys already acted on."
    )
    triggers: list[TriggerCounts] | None = Field(
        None, max_length=16, description="Counters per event trigger."
    )
    consecutive_failures: int | None = Field(
        None,
        ge=0,
        description="Runs failed for good since the last success or resume "
        "(spec.pauseAfterFailures compares this count).",
    )
    failures_counted_to: StreakMark | None = Field(
        None, description="The newest finished run consecutiveFailures has counted."
    )
