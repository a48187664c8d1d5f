"""Request and response bodies of the REST facade (they also make the OpenAPI document).

The job JSON is the seed's (``id name schedule type payload status last_run``) plus a few
read-only fields that help a caller relate a job to its ScheduledJob. Request models refuse
unknown keys, so a typo is a 400 naming the key instead of a silently ignored field.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    AwareDatetime,
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    ValidationInfo,
    field_validator,
)
from pydantic_core import PydanticCustomError

from almanac.api.specschemas import CLEARABLE, SpecFields

__all__ = [
    "Component",
    "ErrorBody",
    "ErrorItem",
    "EventAccepted",
    "EventInput",
    "Health",
    "Job",
    "JobInput",
    "JobList",
    "JobPatch",
    "JobStats",
    "JobStatus",
    "LastExecution",
    "ListMeta",
    "NextExecution",
    "NextRuns",
    "RequestBody",
    "Run",
    "RunCounts",
    "RunList",
    "RunLogs",
    "RunStatus",
    "Template",
    "TemplateList",
]

JobStatus = Literal["scheduled", "paused", "running", "failed", "completed", "cancelled"]
RunStatus = Literal[
    "queued", "running", "completed", "failed", "timeout", "dead_lettered", "skipped", "cancelled"
]
Text = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=253)]
ScheduleText = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=1, max_length=256)
]
Schedule = ScheduleText | Annotated[list[ScheduleText], Field(min_length=1, max_length=16)]

_SCHEDULE = (
    "5-field cron (`0 0 * * *`, or 6 with seconds first, or `@daily`), `@every <duration>` "
    "(`@every 90s`), `@at <RFC 3339 instant>`, or a list of cron lines."
)
_TYPE = (
    "Payload type: `http_request`, `message`, `command`, `export`, `email`, `sql`, or the "
    "name of any JobTemplate/ClusterJobTemplate (see GET /templates)."
)

_STATUS_INPUT = (
    "`paused` suspends the job; `scheduled` (or any status read back from it: `running`, "
    "`failed`, `completed`) resumes it. `cancelled` only as read back from a cancelled job; "
    "cancel with POST /jobs/{id}/cancel."
)


class RequestBody(BaseModel):
    """A request body: unknown keys are refused (a 400 naming the key), never ignored."""

    model_config = ConfigDict(extra="forbid")


class JobInput(SpecFields, RequestBody):
    """A whole job, as POST /jobs and PUT /jobs/{id} take it; a spec field left out keeps
    its value on PUT (so a kubectl-written setting survives a REST edit)."""

    name: Text = Field(description="Display name (the object name is derived from it).")
    schedule: Schedule | None = Field(
        None, description=_SCHEDULE + " Leave out (or null) for a job run only by `triggers`."
    )
    type: Text = Field(description=_TYPE)
    payload: dict[str, Any] = Field(
        default_factory=dict, description="Parameters of the type, checked by its schema."
    )
    timezone: Text | None = Field(None, description="IANA time zone of the cron lines.")
    status: JobStatus | None = Field(None, description=_STATUS_INPUT)


def _absent_not_null(schema: dict[str, Any]) -> None:
    """Document the fields as optional, not nullable: a PATCH leaves a field out to keep it."""
    for prop in schema.get("properties", {}).values():
        prop.pop("default", None)
        kept = [o for o in prop.pop("anyOf", []) if o.get("type") != "null"]
        if len(kept) == 1:
            prop.update(kept[0])
        elif kept:
            prop["anyOf"] = kept


class JobPatch(SpecFields, RequestBody):
    """Any subset of a job's fields (PATCH /jobs/{id}); a field left out keeps its value,
    null clears the optional ones (description, tags, dates, limits, triggers)."""

    model_config = ConfigDict(extra="forbid", json_schema_extra=_absent_not_null)

    @field_validator("*", mode="before")
    @classmethod
    def _not_null(cls, value: Any, info: ValidationInfo) -> Any:
        """An explicit null would otherwise read as "keep it", hiding a caller's mistake;
        on a clearable field it means "remove"."""
        if value is None and info.field_name not in CLEARABLE:
            raise PydanticCustomError(
                "null", "may not be null; leave the field out to keep its current value"
            )
        return value

    name: Text | None = Field(None, description="Display name.")
    schedule: Schedule | None = Field(None, description=_SCHEDULE)
    type: Text | None = Field(None, description=_TYPE)
    payload: dict[str, Any] | None = Field(None, description="Replaces the parameters.")
    timezone: Text | None = Field(None, description="IANA time zone of the cron lines.")
    status: JobStatus | None = Field(None, description=_STATUS_INPUT)


class Job(SpecFields):
    """A ScheduledJob as the seed's job JSON, with every spec field in the seeds' words."""

    id: str = Field(description="The ScheduledJob's metadata.uid.")
    name: str = Field(description="Display name.")
    schedule: str | list[str] | None = Field(description="Schedule; null for event-only jobs.")
    timezone: str = Field(description="IANA time zone of the cron lines.")
    type: str = Field(description=_TYPE)
    payload: dict[str, Any] = Field(description="Parameters of the type.")
    status: JobStatus = Field(
        description="scheduled, paused, running, failed, completed or cancelled."
    )
    last_run: AwareDatetime | None = Field(description="Start of the latest run.")
    next_run: AwareDatetime | None = Field(None, description="Next slot, if known.")
    resource_name: str = Field(description="metadata.name of the ScheduledJob (for kubectl).")
    created_by: str | None = Field(None, description="Who created it through the facade.")
    created_at: AwareDatetime | None = Field(None, description="Creation instant.")


class ListMeta(BaseModel):
    """Pagination of a list: ``count`` is the total matching the filters."""

    count: int = Field(description="Items matching the filters (all pages).")
    limit: int = Field(description="Page size asked for.")
    offset: int = Field(description="Items skipped.")
    next: str | None = Field(
        None, description="Path and query of the next page (same filters); null on the last."
    )
    previous: str | None = Field(
        None, description="Path and query of the previous page; null on the first."
    )


class JobList(BaseModel):
    """One page of jobs."""

    data: list[Job]
    meta: ListMeta


class RunLogs(BaseModel):
    """The tail of a run's log: kept with its history row once it ended (bounded by the
    operator's ALMANAC_HISTORY_LOG_* settings), read from its pod while it runs."""

    run_id: str = Field(description="Run id (the run's Job name).")
    lines: list[str] = Field(description="The newest lines, oldest first.")
    truncated: bool = Field(description="Earlier lines (or the end of a long line) were left out.")


class Run(BaseModel):
    """One run of a job, from the run history."""

    id: str = Field(description="Run id (the run's Job name).")
    job_id: str = Field(description="Id of the job it belongs to.")
    status: RunStatus = Field(
        description="queued (held by a limit: see GET /queue), running, completed, failed, "
        "timeout (failed at its deadline), dead_lettered (failed with no retry left: see "
        "GET /dead-letters), skipped or cancelled."
    )
    reason: str | None = Field(
        None,
        description="Why it ended so, in a word: a skipped slot's reason (suspended, "
        "overlap_forbidden, buffer_full, missed, max_runs_reached) or timeout; a queued "
        "run's limit (queued:namespace, queued:maxConcurrentRuns...).",
    )
    start_time: AwareDatetime | None = Field(description="When it started.")
    end_time: AwareDatetime | None = Field(description="When it finished.")
    error_message: str | None = Field(description="Why it failed.")
    result: dict[str, Any] | None = Field(description="The payload's result JSON.")
    slot: AwareDatetime = Field(description="The instant it was scheduled for.")
    trigger: str = Field(description="schedule, catchup, manual, retry, event, after, backfill.")
    attempt: int = Field(description="Attempt number, from 1.")
    trace_id: str = Field(
        description="The run's OpenTelemetry trace id (32 hex digits), derived from the run: "
        "its spans carry it when the operator exports traces, and its container gets it in "
        "TRACEPARENT."
    )
    logs: RunLogs | None = Field(
        None, description="Its log's tail, with `include_logs=true` (null when none)."
    )


class RunList(BaseModel):
    """One page of runs, newest first."""

    data: list[Run]
    meta: ListMeta


class LastExecution(BaseModel):
    """A job's latest run (newest slot), as its stats show it."""

    run_id: str = Field(description="Run id (read it with GET /executions/{run_id}).")
    status: RunStatus
    started_at: AwareDatetime | None = Field(description="When it started (null: not yet).")
    duration_seconds: float | None = Field(description="Start to finish (null: not finished).")


class NextExecution(BaseModel):
    """A job's next slot, as the operator computed it (``status.nextRunTime``)."""

    scheduled_at: AwareDatetime


class RunCounts(BaseModel):
    """Runs by status: a job's whole history (its stats) or an organisation's period (the
    metrics summary), under one set of names."""

    total: int
    running: int = Field(description="Launched and not finished.")
    succeeded: int
    failed: int
    timeouts: int = Field(description="Failed at the executor's deadline (among failed).")
    skipped: int
    cancelled: int


class JobStats(RunCounts):
    """Aggregates over a job's whole run history. Durations are in seconds, over runs with
    a start and a finish; ``timeouts`` are failed runs the executor ended at their deadline
    (also counted in ``failed``; a Job Kubernetes stopped first counts as failed only)."""

    job_id: str = Field(description="Id of the job.")
    job_name: str = Field(description="Its display name.")
    success_rate: float | None = Field(description="succeeded / (succeeded + failed).")
    avg_seconds: float | None
    min_seconds: float | None
    max_seconds: float | None
    p50_seconds: float | None
    p95_seconds: float | None
    p99_seconds: float | None
    top_errors: list[dict[str, Any]] = Field(description="{error, count, last_seen}.")
    busiest_hours: list[dict[str, int]] = Field(description="{hour (UTC), count}.")
    last_execution: LastExecution | None = Field(description="The newest run, if any.")
    next_execution: NextExecution | None = Field(description="The next slot, if scheduled.")
    generated_at: AwareDatetime


class NextRuns(BaseModel):
    """The next slots, in the schedule's time zone."""

    data: list[AwareDatetime]


def _encodable(value: str) -> str:
    """JSON allows lone surrogates (``"\\ud800"``); Kafka keys and replies need real UTF-8."""
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise ValueError("must be valid Unicode text (it holds a lone surrogate)") from None
    return value


EventText = Annotated[
    str,
    StringConstraints(strip_whitespace=True, min_length=1, max_length=200),
    AfterValidator(_encodable),
]
EventKey = Annotated[
    str, StringConstraints(min_length=1, max_length=1024), AfterValidator(_encodable)
]


class EventInput(RequestBody):
    """An event for ScheduledJobs with Kafka triggers (POST /events), the seed's
    ``triggerEvent(event, data)`` for callers without a Kafka client."""

    id: EventText | None = Field(
        None,
        description="Event id; the operator runs each id at most once, so a retry after a "
        "503 must reuse it. Generated (uuid4) when absent.",
    )
    type: EventText = Field(description="What happened, e.g. `ticket.opened`.")
    data: dict[str, Any] = Field(
        default_factory=dict, description="The event's fields, as trigger filters read them."
    )
    key: EventKey | None = Field(
        None, description="Kafka message key (ordering per key); defaults to the id."
    )


class EventAccepted(BaseModel):
    """The event is on the trigger topic (the broker acknowledged it to all replicas)."""

    id: str = Field(description="The event id (the one generated when none was sent).")
    topic: str = Field(description="The Kafka topic it was published to.")
    namespace: str = Field(description="The organisation namespace whose jobs it can trigger.")


class Template(BaseModel):
    """A payload type: a JobTemplate, a ClusterJobTemplate or a built-in type."""

    name: str
    type: str = Field(description="The value to put in a job's `type`.")
    scope: Literal["namespace", "cluster", "builtin"]
    description: str | None = None
    params_schema: dict[str, Any] | None = Field(description="JSON Schema of the payload.")


class TemplateList(BaseModel):
    """Every payload type the caller may use."""

    data: list[Template]
    meta: ListMeta


class ErrorItem(BaseModel):
    """One problem with a request."""

    field: str | None = Field(
        description="Body key, query parameter or header at fault; null when the refusal is "
        "about the caller (a role), not a field."
    )
    message: str = Field(description="What is wrong and how to fix it.")
    code: str = Field(description="Stable machine-readable code.")


class ErrorBody(BaseModel):
    """Every 4xx/5xx answer."""

    errors: list[ErrorItem]


class Component(BaseModel):
    """One dependency of the facade."""

    status: Literal["up", "down", "not_configured"]
    required: bool = Field(description="Whether the facade is unhealthy without it.")
    latency_ms: float | None = Field(None, description="How long the check took.")
    message: str | None = Field(None, description="Why it is down.")


class Health(BaseModel):
    """``healthy``: all up; ``degraded``: an optional one down; ``unhealthy``: a required one."""

    status: Literal["healthy", "degraded", "unhealthy"]
    components: dict[str, Component]
    checked_at: AwareDatetime
