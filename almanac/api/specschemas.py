"""The job JSON's spec fields in the seeds' vocabulary (seed 004's ``retry_policy``,
``timeout_seconds``, ``max_executions``, ``start_date``...).

They are models of their own so that ``JobInput``, ``JobPatch`` and ``Job`` share one
definition of each field; :mod:`almanac.api.specfields` maps them to and from
``ScheduledJob.spec``. Durations are whole seconds here (the spec writes ``1m30s``).
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from almanac.core.base import Tag
from almanac.core.notifymodels import MAX_NOTIFICATIONS, MAX_RECIPIENTS, EmailAddress

__all__ = [
    "CLEARABLE",
    "SPEC_FIELDS",
    "CatchUpPolicy",
    "HistoryLimits",
    "OverlapPolicyName",
    "RetryPolicy",
    "SeedNotifications",
    "SpecFields",
    "TagList",
]

#: A day short of the duration grammar's 10,000-day cap: any value here formats back.
_MAX_SECONDS = 9_999 * 86_400
Seconds = Annotated[int, Field(ge=1, le=_MAX_SECONDS)]
OverlapPolicyName = Literal["allow", "forbid", "replace", "buffer_one"]
TagList = Annotated[list[Tag], Field(max_length=32)]


class _Part(BaseModel):
    model_config = ConfigDict(extra="forbid")


class RetryPolicy(_Part):
    """Retries of a failed run (``spec.retry``): delay before retry n is
    ``min(initial_delay_seconds * backoff_factor^(n-1), max_delay_seconds)``."""

    max_retries: int = Field(0, ge=0, le=99, description="Attempts after the first one.")
    initial_delay_seconds: Seconds = Field(10, description="Delay before the first retry.")
    backoff_factor: float = Field(2.0, ge=1, le=100, description="Growth of each delay.")
    max_delay_seconds: Seconds = Field(600, description="Upper bound of any delay.")


class CatchUpPolicy(_Part):
    """Slots missed while no operator ran (``spec.catchUp``)."""

    window_seconds: Seconds = Field(3600, description="Only slots this recent run.")
    max_runs: int = Field(1, ge=0, le=1000, description="Run at most this many, the newest.")


class HistoryLimits(_Part):
    """Finished Jobs kept in the cluster (``spec.history``); history rows outlive them."""

    successful: int = Field(3, ge=0, le=100, description="Succeeded Jobs kept.")
    failed: int = Field(5, ge=0, le=100, description="Failed Jobs kept.")


class SeedNotifications(_Part):
    """Seed 003's shape: e-mail addresses told on success and on failure (written as
    ``spec.notifications`` entries hearing ``Succeeded`` and ``Failed``; read back as
    the list)."""

    on_success: list[EmailAddress] = Field(
        default_factory=list, max_length=MAX_RECIPIENTS, description="Told when a run succeeds."
    )
    on_failure: list[EmailAddress] = Field(
        default_factory=list,
        max_length=MAX_RECIPIENTS,
        description="Told when a run fails for good (retries spent).",
    )


class SpecFields(BaseModel):
    """The spec fields every job JSON shows and every write may set (absent: unchanged)."""

    description: Annotated[str, Field(max_length=1024)] | None = Field(
        None, description="What the job is for."
    )
    tags: TagList | None = Field(None, description="Tags to find the job by (`GET /jobs?tags=`).")
    timeout_seconds: Seconds | None = Field(
        None, description="Run deadline; a run still going then is stopped and fails."
    )
    retry_policy: RetryPolicy | None = Field(None, description="Retries of a failed run.")
    overlap_policy: OverlapPolicyName | None = Field(
        None,
        description="When a slot comes while a run is active: `allow` both, `forbid` (skip the "
        "slot), `replace` the active run, or `buffer_one` (run it after).",
    )
    allow_overlap: bool | None = Field(
        None,
        description="Seed 004's switch: true is `overlap_policy: allow`, false `forbid`.",
    )
    priority: Annotated[str, Field(min_length=1, max_length=253)] | None = Field(
        None,
        description="Seed 004's priority, as the name of a Kubernetes PriorityClass (the "
        "platform creates classes such as `low`, `medium`, `high`, `critical`): the run pods' "
        "priority, and the order of runs waiting in the launch queue (`spec.priority`).",
    )
    concurrency: Annotated[int, Field(ge=1, le=10000)] | None = Field(
        None,
        description="Seed 004's concurrency: runs of this job active at once at most; more "
        "wait in the launch queue (`spec.maxConcurrentRuns`; none: no limit of its own).",
    )
    start_date: AwareDatetime | None = Field(None, description="No slot before this instant.")
    end_date: AwareDatetime | None = Field(None, description="No slot after this instant.")
    max_executions: Annotated[int, Field(ge=1, le=1_000_000)] | None = Field(
        None, description="Scheduled runs in total; then the job is completed."
    )
    jitter_seconds: Annotated[int, Field(ge=0, le=_MAX_SECONDS)] | None = Field(
        None, description="Each slot's run starts up to this much later (stable per slot)."
    )
    pause_after_failures: Annotated[int, Field(ge=1, le=1000)] | None = Field(
        None,
        description="Suspend the job after this many runs in a row failed for good (retries "
        "exhausted); resuming it clears the count (`spec.pauseAfterFailures`).",
    )
    catch_up: CatchUpPolicy | None = Field(None, description="Slots missed while no operator ran.")
    history_limits: HistoryLimits | None = Field(None, description="Finished Jobs kept.")
    triggers: list[dict[str, Any]] | None = Field(
        None,
        max_length=16,
        description="Event triggers, as `spec.triggers` with snake_case keys (`kafka`, "
        "`after`, `delay`, `sequence`, `cancel_on`, `params`); see the triggers guide.",
    )
    notifications: list[dict[str, Any]] | SeedNotifications | None = Field(
        None,
        description="Who hears about runs: `spec.notifications` with snake_case keys, a list "
        "of `{on: [Failed|Succeeded|DeadLettered|Recovered], email|webhook|kafka}` (at most "
        f"{MAX_NOTIFICATIONS}), or seed 003's `{{on_success: [...], on_failure: [...]}}` "
        "(e-mail addresses), stored as that list. `POST /jobs/{job_id}/notifications/test` "
        "sends a test message to each.",
    )
    pod_template: dict[str, Any] | None = Field(
        None,
        description="`spec.podTemplate` as written with kubectl. Read-only here: it grants "
        "powers (ServiceAccount, Secrets) that only a Kubernetes identity can be checked for; "
        "a write may send it back unchanged.",
    )


#: Fields a PATCH may set to null: to remove them, or (``pod_template``) as read back.
CLEARABLE: frozenset[str] = frozenset(
    {
        "pod_template",
        "description",
        "tags",
        "timeout_seconds",
        "start_date",
        "end_date",
        "max_executions",
        "jitter_seconds",
        "pause_after_failures",
        "priority",
        "concurrency",
        "triggers",
        "notifications",
    }
)
#: Names of the spec fields, in the order the job JSON shows them.
SPEC_FIELDS: tuple[str, ...] = tuple(SpecFields.model_fields)
