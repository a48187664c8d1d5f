"""RunRequest: an accepted event, durable in the Kubernetes API until its run is launched.

Why a resource and not memory: an event's Kafka offset is committed only after its
RunRequest exists, and the RunRequest's name is derived from the event's identity, so a
redelivered event meets AlreadyExists instead of making a second run (exactly once from
at-least-once delivery). Delayed and sequenced runs wait here across operator restarts and
leader changes; ``kubectl get runrequests`` shows what is pending and why. The owner
reference to the ScheduledJob lets Kubernetes delete them with it.

The phase lives in ``status`` (written by the operator only): ``Pending`` until the due
time, then ``Launched`` (with the Job name), or ``Cancelled`` (a ``cancelOn`` event, with
its id), ``Skipped`` (the ScheduledJob was suspended at the due time) or ``Failed`` (the
mapped params were refused by the template's schema, with the reason).
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from datetime import datetime
from enum import StrEnum
from typing import Any, Final, Literal

from pydantic import AwareDatetime, Field

from almanac.core.base import ObjectName, SpecModel, StatusModel
from almanac.core.naming import (
    LABEL_SCHEDULED_JOB,
    LABEL_SCHEDULED_JOB_UID,
    controller_reference,
    rfc3339_utc,
    run_name,
)
from almanac.core.requestnames import request_name
from almanac.core.runs import API_VERSION, RunRequest
from almanac.core.status import TriggerKind
from almanac.core.vocabulary import LABEL_KEY, LABEL_TRIGGER_NAME

__all__ = [
    "ASKED_BY_HAND",
    "LABEL_KEY",
    "LABEL_TRIGGER_NAME",
    "MAX_EVENT_BYTES",
    "OWN_SOURCES",
    "EventSource",
    "RequestPhase",
    "RunRequestSpec",
    "RunRequestStatus",
    "backfill_request",
    "key_label",
    "launch_of",
    "manual_request",
    "retry_request",
    "run_request_body",
    "status_patch",
]

#: The event travels in the RunRequest and the run's environment; etcd objects and
#: environments are bounded, so larger events are refused (recorded as failed).
MAX_EVENT_BYTES: Final = 32 * 1024
_N_RANGE: Final = 1_000_000
_TRIGGERS: Final = {
    "event": TriggerKind.EVENT,
    "after": TriggerKind.AFTER,
    "backfill": TriggerKind.BACKFILL,
    "manual": TriggerKind.MANUAL,
    "retry": TriggerKind.RETRY,
}
#: How the event ids of the requests the facade writes itself begin (no event behind them).
BACKFILL_SOURCE: Final = "backfill:"
RUN_NOW_SOURCE: Final = "run-now:"
RETRY_SOURCE: Final = "retry:"
OWN_SOURCES: Final = (BACKFILL_SOURCE, RUN_NOW_SOURCE, RETRY_SOURCE)
#: Kinds a person asks for explicitly: they run while the job is paused.
ASKED_BY_HAND: Final = frozenset({"manual", "retry"})


class RequestPhase(StrEnum):
    PENDING = "Pending"
    LAUNCHED = "Launched"
    CANCELLED = "Cancelled"
    SKIPPED = "Skipped"
    FAILED = "Failed"


class EventSource(SpecModel):
    """Where the event came from: its identity, and the Kafka position when it has one."""

    id: str = Field(min_length=1, max_length=1024, description="Event identity (dedup key).")
    type: str | None = Field(None, max_length=256, description="The event's type field.")
    topic: str | None = Field(None, max_length=249, description="Kafka topic.")
    partition: int | None = Field(None, ge=0, description="Kafka partition.")
    offset: int | None = Field(None, ge=0, description="Kafka offset.")


class RunRequestSpec(SpecModel):
    """One run an event asked for (written by the operator)."""

    scheduled_job: ObjectName = Field(description="The ScheduledJob that runs.")
    trigger: str = Field(
        "", max_length=63, description="Name of the trigger in spec.triggers (none: backfill)."
    )
    kind: Literal["event", "after", "backfill", "manual", "retry"] = Field(
        description="A Kafka event, an upstream run, a past slot asked for (backfill), a "
        "run asked for now (manual: run-now through REST), or one more attempt of a "
        "finished run (retry, through REST)."
    )
    due_time: AwareDatetime = Field(description="When the run starts.")
    step: int = Field(0, ge=0, description="Index in the trigger's sequence (0 without one).")
    key: str | None = Field(None, max_length=1024, description="Correlation key (cancelOn).")
    params: dict[str, Any] = Field(
        default_factory=dict, description="Params mapped from the event (over spec.params)."
    )
    source: EventSource = Field(description="The event behind the request.")
    event: dict[str, Any] = Field(
        default_factory=dict, description="The event itself (ALMANAC_EVENT in the run)."
    )
    attempt: int = Field(
        1, ge=1, le=9999, description="The run's attempt number (a retry: the retried run's + 1)."
    )
    retry_of: str | None = Field(
        None, max_length=63, description="The run a retry repeats (kind retry only)."
    )


class RunRequestStatus(StatusModel):
    """What became of the request."""

    phase: RequestPhase = Field(RequestPhase.PENDING, description="Pending, Launched, ...")
    job: str | None = Field(None, max_length=63, description="The run's Job, once launched.")
    message: str = Field("", max_length=1024, description="Why it is in this phase.")
    last_transition_time: AwareDatetime | None = Field(None, description="When phase changed.")


def key_label(key: str) -> str:
    """Label value for a correlation key (keys are free text; label values are not)."""
    return hashlib.sha256(key.encode()).hexdigest()[:32]


def run_request_body(
    *,
    name: str,
    namespace: str,
    owner: str,
    owner_uid: str,
    spec: RunRequestSpec,
) -> dict[str, Any]:
    """The manifest of one RunRequest, owned by its ScheduledJob."""
    labels = {
        LABEL_SCHEDULED_JOB: owner[:63].rstrip("-."),
        LABEL_SCHEDULED_JOB_UID: owner_uid,
        LABEL_TRIGGER_NAME: spec.trigger,
    }
    if spec.key is not None:
        labels[LABEL_KEY] = key_label(spec.key)
    return {
        "apiVersion": API_VERSION,
        "kind": "RunRequest",
        "metadata": {
            "name": name,
            "namespace": namespace,
            "labels": labels,
            "ownerReferences": [controller_reference(owner, owner_uid)],
        },
        "spec": spec.model_dump(mode="json", by_alias=True, exclude_none=True),
    }


def launch_of(name: str, spec: RunRequestSpec, attempt: int | None = None) -> RunRequest:
    """The run a RunRequest launches (``attempt``: a later attempt of it; default its
    own). ``n`` comes from the request's name and the slot keeps its microseconds, so the
    Job name is deterministic per request and distinct between requests due in the same
    second. A backfill has one request per slot, so its run keeps the plain per-slot name
    (``n`` 1) that asking twice must collide on; a retry is named like the retry the
    ``almanac.dev/retry`` annotation starts (``n`` 1, the attempt), so the two collide."""
    backfill = spec.kind == "backfill"
    fixed = backfill or spec.kind == "retry"
    n = 1 if fixed else int(hashlib.sha256(name.encode()).hexdigest()[:8], 16) % _N_RANGE
    return RunRequest(
        slot=spec.due_time,
        trigger=_TRIGGERS[spec.kind],
        attempt=spec.attempt if attempt is None else attempt,
        n=n,
        request=name,
        params=None if backfill else spec.params,
        event=None if backfill else spec.event,
        event_id=None if backfill else spec.source.id,
        step=None if backfill else spec.step,
    )


def backfill_request(owner: str, owner_uid: str, slot: datetime) -> tuple[str, RunRequestSpec]:
    """The request (name, spec) that runs ``slot`` of a ScheduledJob again. Due at the
    slot, which has passed, so the operator launches it at once (as the job's overlap
    policy allows); named like the run it launches, so asking twice stores nothing new."""
    spec = RunRequestSpec(
        scheduled_job=owner,
        kind="backfill",
        due_time=slot,
        source=EventSource(id=f"{BACKFILL_SOURCE}{rfc3339_utc(slot)}"),
    )
    return run_name(owner, owner_uid, slot, trigger=TriggerKind.BACKFILL), spec


def manual_request(
    owner: str,
    owner_uid: str,
    key: str,
    now: datetime,
    params: Mapping[str, Any] | None = None,
) -> tuple[str, RunRequestSpec]:
    """The request (name, spec) of one run-now: named from its idempotency ``key``, so
    asking again with the key stores nothing new, and any number of keys queue runs
    side by side (an annotation held one). Due now; its run's name follows from it.
    ``params`` go over the job's for this run only (checked by the writer beforehand)."""
    spec = RunRequestSpec(
        scheduled_job=owner,
        kind="manual",
        due_time=now.replace(microsecond=0),
        source=EventSource(id=f"{RUN_NOW_SOURCE}{key}"[:1024]),
        params=dict(params or {}),
    )
    return request_name(owner, owner_uid, "run-now", key), spec


def retry_request(
    owner: str,
    owner_uid: str,
    run: str,
    *,
    slot: datetime,
    attempt: int,
    origin: RunRequestSpec | None,
) -> tuple[str, RunRequestSpec]:
    """The request (name, spec) of one more attempt of finished run ``run`` (its
    ``attempt`` + 1 is given). Named from the run, so retrying a run twice asks once (retry
    the retry for a third attempt); due at the run's slot, which has passed, so it runs at
    once. A run an event started keeps that event's params and payload (``origin``, its
    RunRequest's spec): the history does not store them."""
    carried = (
        {"params": origin.params, "event": origin.event, "step": origin.step, "key": origin.key}
        if origin is not None
        else {}
    )
    spec = RunRequestSpec(
        scheduled_job=owner,
        kind="retry",
        due_time=origin.due_time if origin is not None else slot,  # to the microsecond
        attempt=attempt,
        retry_of=run,
        source=origin.source if origin is not None else EventSource(id=f"{RETRY_SOURCE}{run}"),
        **carried,
    )
    return request_name(owner, owner_uid, "retry", run), spec


def status_patch(
    phase: RequestPhase, now: datetime, *, job: str | None = None, message: str = ""
) -> Mapping[str, Any]:
    """The ``status`` of a request that changed phase."""
    status: dict[str, Any] = {"phase": phase.value, "message": message[:1024]}
    if job is not None:
        status["job"] = job
    status["lastTransitionTime"] = rfc3339_utc(now)
    return status
