"""The ``ScheduledJob`` spec (``almanac.dev/v1alpha1``) as pydantic models.

These models are the one source of truth for the resource: the CRD YAML in ``crds/`` is
generated from them (:mod:`almanac.core.crd`), admission and the REST facade validate with
them, and the operator reads specs through them. Semantic checks that the schema cannot
express (cron syntax, time zones, durations, "never fires") run in validators so every entry
point refuses the same input with the same message.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Any, Literal, Self

from pydantic import AwareDatetime, ConfigDict, Field, model_validator

from almanac.core.base import Duration, NonNegativeDuration, ObjectName, SpecModel, Tag
from almanac.core.errors import InvalidInputError, InvalidScheduleError
from almanac.core.notifymodels import MAX_NOTIFICATIONS, Notification
from almanac.core.podtemplate import PodTemplate
from almanac.core.vocabulary import API_VERSION, GROUP

__all__ = [
    "API_GROUP",
    "API_VERSION",
    "AfterTrigger",
    "Backoff",
    "CancelOn",
    "CatchUp",
    "History",
    "KafkaSource",
    "OverlapPolicy",
    "Retry",
    "Schedule",
    "ScheduledJobSpec",
    "Trigger",
]

API_GROUP = GROUP

# ``cron`` is a string or a list, which a structural schema can only express as an untyped
# node with preserved fields (``x-kubernetes-preserve-unknown-fields``). The API server
# rejects CEL rules on such a node and hides it from its parent's rules (verified against
# kube-apiserver 1.37), so its type and its exclusivity with every/at are checked by the
# engine (admission webhook, REST facade, operator) instead; CEL checks every vs at.


class OverlapPolicy(StrEnum):
    """What to do with a slot while an earlier run of the same ScheduledJob is active."""

    ALLOW = "Allow"
    FORBID = "Forbid"
    REPLACE = "Replace"
    BUFFER_ONE = "BufferOne"


class Schedule(SpecModel):
    """When time-based runs happen: exactly one of ``cron``, ``every`` or ``at``."""

    model_config = ConfigDict(
        json_schema_extra={
            "x-kubernetes-validations": [
                {
                    "rule": "!(has(self.every) && has(self.at))",
                    "message": "schedule needs exactly one of cron, every or at; "
                    "remove every or at",
                },
                {
                    "rule": "!has(self.phase) || has(self.every)",
                    "message": "schedule.phase only applies to schedule.every; remove phase",
                },
                {
                    "rule": "!has(self.startTime) || !has(self.endTime) || "
                    "self.endTime > self.startTime",
                    "message": "schedule.endTime must be after schedule.startTime; move endTime",
                },
            ]
        }
    )

    cron: str | list[str] | None = Field(
        None,
        description=(
            "Cron line, or a list of lines whose slots are merged: 5 fields (minute hour "
            "day-of-month month day-of-week) or 6 with seconds first; names JAN-DEC, SUN-SAT; "
            "macros @yearly @annually @monthly @weekly @daily @midnight @hourly."
        ),
    )
    every: Duration | None = Field(
        None,
        description="Fixed interval (at least 1s); slots are epoch + phase + k*every.",
    )
    phase: NonNegativeDuration | None = Field(
        None, description="Offset of the every grid from the Unix epoch (default 0s)."
    )
    at: AwareDatetime | None = Field(
        None, description="One-time run at this RFC 3339 instant (with Z or an offset)."
    )
    time_zone: str = Field(
        "UTC",
        min_length=1,
        max_length=64,
        description="IANA time zone the cron lines are evaluated in (e.g. Europe/Berlin).",
    )
    start_time: AwareDatetime | None = Field(
        None, description="No slot before this instant (inclusive)."
    )
    end_time: AwareDatetime | None = Field(
        None, description="No slot after this instant (inclusive); must follow startTime."
    )
    max_runs: int | None = Field(
        None, ge=1, description="Stop after this many time-based runs, then mark Complete."
    )
    jitter: NonNegativeDuration | None = Field(
        None,
        description="Delay each run by a deterministic amount in [0, jitter) per slot.",
    )

    @model_validator(mode="after")
    def _check_semantics(self) -> Self:
        from almanac.core.schedule import compile_schedule  # noqa: PLC0415 (cycle)

        compile_schedule(self, field="")
        return self


class KafkaSource(SpecModel):
    """Events read from a Kafka topic, optionally filtered and keyed by CEL expressions."""

    topic: str = Field(
        min_length=1,
        max_length=249,
        pattern=r"^[a-zA-Z0-9._-]+$",
        description="Kafka topic name (letters, digits, '.', '_' and '-').",
        json_schema_extra={
            "x-kubernetes-validations": [
                {"rule": "self != '.' && self != '..'", "message": "Kafka refuses '.' and '..'"}
            ]
        },
    )
    filter: str | None = Field(
        None, max_length=4096, description="CEL over `event`; only matching events count."
    )
    key: str | None = Field(
        None, max_length=1024, description="CEL over `event` correlating start and cancel."
    )


class AfterTrigger(SpecModel):
    """Run after another ScheduledJob in the same namespace finishes."""

    scheduled_job: ObjectName = Field(description="Name of the upstream ScheduledJob.")
    result: Literal["Succeeded", "Failed", "Any"] = Field(
        "Succeeded", description="Which upstream outcome triggers this job."
    )


class CancelOn(SpecModel):
    """An event that cancels pending (delayed) runs with the same key."""

    kafka: KafkaSource = Field(description="Events that cancel.")


class Trigger(SpecModel):
    """A run caused by an event rather than by the clock."""

    model_config = ConfigDict(
        json_schema_extra={
            "x-kubernetes-validations": [
                {
                    "rule": "has(self.kafka) != has(self.after)",
                    "message": "a trigger needs exactly one of kafka or after",
                },
                {
                    "rule": "!has(self.delay) || !has(self.sequence)",
                    "message": "use either delay or sequence in a trigger, not both",
                },
            ]
        }
    )

    name: str | None = Field(
        None,
        max_length=63,
        description="Name used for this trigger's counters in status (a label value).",
    )
    kafka: KafkaSource | None = Field(None, description="Kafka events that start a run.")
    after: AfterTrigger | None = Field(None, description="Upstream job completion.")
    delay: NonNegativeDuration | None = Field(
        None, description="Run this long after the event instead of at once."
    )
    sequence: list[NonNegativeDuration] | None = Field(
        None, max_length=32, description="Run once per delay listed (e.g. [0s, 1d, 3d])."
    )
    cancel_on: list[CancelOn] | None = Field(
        None, max_length=8, description="Events that cancel pending runs with the same key."
    )
    params: dict[str, str] | None = Field(
        None, description="Template params computed per event (CEL expressions over `event`)."
    )

    @model_validator(mode="after")
    def _check_source(self) -> Self:
        if (self.kafka is None) == (self.after is None):
            raise InvalidInputError("a trigger needs exactly one of kafka or after")
        if self.delay is not None and self.sequence is not None:
            raise InvalidInputError("use either delay or sequence in a trigger, not both")
        return self


class CatchUp(SpecModel):
    """Which slots missed during operator downtime still run."""

    window: Duration = Field("1h", description="Only slots this recent run; older are skipped.")
    max_runs: int = Field(
        1, ge=0, le=1000, description="Run at most this many (the newest), oldest first."
    )


class Backoff(SpecModel):
    """Delay before attempt n+1: min(initial * factor^(n-1), max)."""

    initial: Duration = Field("10s", description="Delay before the second attempt.")
    factor: float = Field(2.0, ge=1, le=100, description="Growth factor per attempt.")
    max: Duration = Field("10m", description="Upper bound of any delay.")


class Retry(SpecModel):
    """Retries of a failed run; ``maxAttempts`` counts the first attempt."""

    max_attempts: int = Field(1, ge=1, le=100, description="Attempts in total (1 = no retry).")
    backoff: Backoff = Field(default_factory=Backoff, description="Delay between attempts.")


class History(SpecModel):
    """How many finished Jobs stay in the cluster (Postgres keeps every run)."""

    successful_jobs: int = Field(3, ge=0, le=100, description="Succeeded Jobs kept.")
    failed_jobs: int = Field(5, ge=0, le=100, description="Failed Jobs kept.")


class ScheduledJobSpec(SpecModel):
    """What to run (template + params), when (schedule, triggers) and how."""

    model_config = ConfigDict(
        json_schema_extra={
            "x-kubernetes-validations": [
                {
                    "rule": "has(self.schedule) || (has(self.triggers) && size(self.triggers) > 0)",
                    "message": "spec.schedule is required unless spec.triggers lists a trigger; "
                    "add schedule.cron, schedule.every or schedule.at",
                }
            ]
        }
    )

    template: ObjectName = Field(
        description="JobTemplate (namespaced, looked up first) or ClusterJobTemplate name."
    )
    params: dict[str, Any] = Field(
        default_factory=dict, description="Template parameters, checked by its paramsSchema."
    )
    schedule: Schedule | None = Field(None, description="Time-based runs.")
    triggers: list[Trigger] | None = Field(None, max_length=16, description="Event-based runs.")
    suspend: bool = Field(False, description="Skip (and count) slots while true.")
    overlap_policy: OverlapPolicy = Field(
        OverlapPolicy.FORBID, description="Allow, Forbid, Replace or BufferOne."
    )
    catch_up: CatchUp = Field(
        default_factory=CatchUp, description="Missed slots after operator downtime."
    )
    retry: Retry = Field(default_factory=Retry, description="Retries of failed runs.")
    pause_after_failures: int | None = Field(
        None,
        ge=1,
        le=1000,
        description="Suspend the job after this many consecutive runs failed for good "
        "(retries exhausted); resuming it clears the count.",
    )
    priority: str | None = Field(
        None,
        min_length=1,
        max_length=253,
        pattern=r"^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$",
        description="PriorityClass of the run pods; its value orders runs waiting in the "
        "launch queue (higher first). Not a system-* class; instead of "
        "podTemplate.priorityClassName.",
    )
    max_concurrent_runs: int | None = Field(
        None,
        ge=1,
        le=10000,
        description="Runs of this job active at once at most, whatever started them; more "
        "wait in the launch queue (their Jobs suspended) until one ends.",
    )
    timeout: Duration | None = Field(None, description="Run deadline (activeDeadlineSeconds).")
    history: History = Field(default_factory=History, description="Finished Jobs kept.")
    pod_template: PodTemplate | None = Field(None, description="Settings for run pods.")
    description: str | None = Field(
        None, max_length=1024, description="What the job is for, for people reading lists."
    )
    tags: list[Tag] | None = Field(
        None, max_length=32, description="Labels for finding jobs (REST filters by them)."
    )
    notifications: list[Notification] | None = Field(
        None,
        max_length=MAX_NOTIFICATIONS,
        description="Who hears about run outcomes (Failed, Succeeded, DeadLettered, "
        "Recovered): e-mail, a Slack-compatible webhook or a Kafka topic; see "
        "docs/notifications.md.",
    )

    @model_validator(mode="after")
    def _check_has_something_to_do(self) -> Self:
        if self.schedule is None and not self.triggers:
            raise InvalidScheduleError(
                "schedule is required unless triggers lists a trigger; add "
                "schedule.cron, schedule.every or schedule.at"
            )
        return self

    @model_validator(mode="after")
    def _check_priority(self) -> Self:
        """``system-*`` classes are the cluster's own (node-critical pods): a run that took
        one could preempt them. One way to name the class, so the queue's order and the
        pods' priority cannot disagree."""
        if self.priority is not None and self.priority.startswith("system-"):
            raise InvalidInputError(
                f"{self.priority!r} is a system PriorityClass, reserved for the cluster's "
                "own pods; name another class",
                ".priority",
            )
        pod = self.pod_template
        if self.priority is not None and pod is not None and pod.priority_class_name:
            raise InvalidInputError(
                "is set beside spec.priority; remove podTemplate.priorityClassName and keep "
                "spec.priority (it also orders the launch queue)",
                ".podTemplate.priorityClassName",
            )
        return self
