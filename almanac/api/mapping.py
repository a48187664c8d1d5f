"""The seed's job JSON ↔ ScheduledJob objects, and history rows → run JSON. Pure.

* ``id`` is ``metadata.uid``; ``name`` is the ``almanac.dev/display-name`` annotation (the
  object name is a slug of it plus a random suffix), falling back to ``metadata.name`` for
  objects made with kubectl.
* ``type`` is the template, ``http_request`` standing for ``http``; ``payload`` is
  ``spec.params``; ``schedule`` is cron, ``@every <duration>`` or ``@at <instant>``.
* ``status`` is derived from ``spec.suspend`` and the operator's status.

* the rest of the spec is in the seeds' words (:mod:`almanac.api.specfields`).

Edits touch only what the request carries: a PUT that leaves out ``retry_policy`` keeps
the retries a kubectl user wrote, and one that sends back what it read changes nothing.
"""

from __future__ import annotations

import copy
import re
from collections.abc import Mapping
from datetime import datetime
from typing import Any, Final, cast

from almanac.api.errors import BadRequestError, ConflictError, bad_request_from
from almanac.api.payloadaliases import canonical_payload
from almanac.api.schemas import Job, JobStatus, Run, RunStatus
from almanac.api.specfields import apply_spec_fields, spec_fields_view
from almanac.core.errors import AlmanacError
from almanac.core.kafkanames import DEFAULT_NAMES, KafkaNames
from almanac.core.models import API_VERSION
from almanac.core.naming import validate_object_name
from almanac.core.orgs import LABEL_ORG_ID
from almanac.core.specs import check_spec
from almanac.core.status import RunPhase
from almanac.core.vocabulary import (
    ANNOTATION_CANCELLED,
    ANNOTATION_CREATED_BY,
    ANNOTATION_DISPLAY_NAME,
    ANNOTATION_SUSPEND_REASON,
    ANNOTATION_UPDATED_BY,
    ConditionType,
)
from almanac.history.records import RunRecord
from almanac.history.states import RunState, state_of
from almanac.notify.formats import run_status

__all__ = [
    "ANNOTATION_CREATED_BY",
    "ANNOTATION_DISPLAY_NAME",
    "ANNOTATION_SUSPEND_REASON",
    "ANNOTATION_UPDATED_BY",
    "LABEL_ORG_ID",
    "apply_changes",
    "display_name",
    "job_status",
    "job_view",
    "new_manifest",
    "phases_for",
    "refuse_if_cancelled",
    "run_view",
    "schedule_text",
    "slug",
    "template_for",
    "type_for",
]


_TYPE_ALIASES: Final = {"http_request": "http"}
_TEMPLATE_TYPES: Final = {v: k for k, v in _TYPE_ALIASES.items()}
_SLUG_LENGTH: Final = 40
_LABEL_VALUE: Final = re.compile(r"[A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?")
_EVERY: Final = "@every "
_CANCELLED_FOR_GOOD: Final = (
    "the job was cancelled and runs no more; create a new job (GET it and POST the body) "
    "to schedule this work again"
)
_AT: Final = "@at "


def template_for(kind: str) -> str:
    """The template a job ``type`` names; refused when it cannot be a template name."""
    name = _TYPE_ALIASES.get(kind, kind)
    try:
        return validate_object_name(name, "type")
    except AlmanacError as exc:
        raise bad_request_from(exc) from None


def type_for(template: str) -> str:
    """The job ``type`` shown for a template (``http`` → ``http_request``)."""
    return _TEMPLATE_TYPES.get(template, template)


def slug(name: str, suffix: str) -> str:
    """An object name from a display name: lower-case, dashes, ≤ 40 characters, + suffix."""
    base = re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")[:_SLUG_LENGTH].rstrip("-")
    return f"{base or 'job'}-{suffix}"


def _schedule_fields(schedule: str | list[str]) -> dict[str, Any]:
    if isinstance(schedule, list):
        return {"cron": schedule if len(schedule) > 1 else schedule[0]}
    if schedule.startswith(_EVERY):
        return {"every": schedule.removeprefix(_EVERY).strip()}
    if schedule.startswith(_AT):
        return {"at": schedule.removeprefix(_AT).strip()}
    return {"cron": schedule}


def refuse_past_instant(changes: Mapping[str, Any], spec: Mapping[str, Any], now: datetime) -> None:
    """A REST write that sets ``@at`` to an instant already past is a 400 naming
    ``schedule`` (seed 004 refuses a past ``execute_at``): the job would only complete
    without running. Jobs written otherwise, or edits that leave the schedule alone, are
    not judged (a finished one-time job may still be renamed)."""
    at = (spec.get("schedule") or {}).get("at")
    if "schedule" not in changes or not isinstance(at, str):
        return
    try:
        instant = datetime.fromisoformat(at.replace("Z", "+00:00"))
    except ValueError:
        return  # the spec check names a malformed instant
    if instant.tzinfo is not None and instant <= now:
        raise BadRequestError(
            f"@at {at} is in the past (now {now.isoformat(timespec='seconds')}); give a "
            "future instant, or run the job now with POST /jobs/{id}/run",
            "schedule",
        )


def schedule_text(schedule: Mapping[str, Any] | None) -> str | list[str] | None:
    """The job JSON's ``schedule`` for a ``spec.schedule`` (None: event-only job)."""
    if not schedule:
        return None
    if schedule.get("every"):
        return _EVERY + str(schedule["every"])
    if schedule.get("at"):
        return _AT + str(schedule["at"])
    cron = schedule.get("cron")
    if isinstance(cron, list):
        return [str(line) for line in cron]
    return str(cron) if cron is not None else None


def _merge_schedule(
    old: Mapping[str, Any] | None, schedule: str | list[str] | None, timezone: str | None
) -> dict[str, Any]:
    """Replace cron/every/at (and phase, which belongs to every), keep bounds and jitter."""
    merged = dict(old or {})
    if schedule is not None:
        fields = _schedule_fields(schedule)
        for key in (
            ("cron", "every", "at") if "every" in fields else ("cron", "every", "at", "phase")
        ):
            merged.pop(key, None)
        merged.update(fields)
    if timezone is not None:
        merged["timeZone"] = timezone
    return merged


def _validated(spec: dict[str, Any], kafka_names: KafkaNames) -> dict[str, Any]:
    """The webhook's own check (the facade's writes skip the webhook), as a 400."""
    try:
        check_spec(spec, kafka_names=kafka_names)
    except AlmanacError as exc:
        raise bad_request_from(exc) from None
    return spec


def apply_changes(
    obj: dict[str, Any],
    changes: Mapping[str, Any],
    actor: str,
    kafka_names: KafkaNames = DEFAULT_NAMES,
    default_topic: str | None = None,
) -> dict[str, Any]:
    """A copy of ``obj`` with the job JSON fields in ``changes`` applied, validated.

    Keys of ``changes`` are those of :class:`~almanac.api.schemas.JobPatch`; absent keys
    keep their value. Raises the 400 naming the first bad field. ``kafka_names`` must be
    the webhook's (this installation's Kafka topics); ``default_topic`` is where a seed-000
    ``{"message": ...}`` payload publishes.
    """
    return _applied(copy.deepcopy(obj), changes, actor, kafka_names, default_topic)


def _applied(
    new: dict[str, Any],
    changes: Mapping[str, Any],
    actor: str,
    kafka_names: KafkaNames,
    default_topic: str | None,
) -> dict[str, Any]:
    """``new`` itself, changed (apply_changes without the copy)."""
    meta = new.setdefault("metadata", {})
    annotations = meta.get("annotations") or {}
    spec = new.setdefault("spec", {})
    if "name" in changes and changes["name"] != display_name(new):
        annotations[ANNOTATION_DISPLAY_NAME] = changes["name"]
    if "type" in changes:
        spec["template"] = template_for(changes["type"])
    if "payload" in changes:
        spec["params"] = canonical_payload(
            str(spec.get("template", "")), changes["payload"], default_topic
        )
    schedule = spec.get("schedule") or {}
    if ("schedule" in changes and changes["schedule"] != schedule_text(schedule)) or (
        "timezone" in changes and changes["timezone"] != schedule.get("timeZone", "UTC")
    ):
        spec["schedule"] = _merge_schedule(
            spec.get("schedule"), changes.get("schedule"), changes.get("timezone")
        )
    if "status" in changes:
        _apply_status(new, changes["status"])
    apply_spec_fields(spec, changes)
    annotations[ANNOTATION_UPDATED_BY] = actor
    meta["annotations"] = annotations
    _validated(spec, kafka_names)
    return new


def _apply_status(obj: dict[str, Any], status: str) -> None:
    """``paused`` suspends; ``cancelled`` is only what a cancelled job reads back (cancel
    is its own request); any other status, as written or read back, means not suspended."""
    spec = obj["spec"]
    cancelled = ANNOTATION_CANCELLED in (obj["metadata"].get("annotations") or {})
    if status == "cancelled" and not cancelled:
        raise BadRequestError(
            "status cancelled is set by cancelling: POST /jobs/{id}/cancel", "status"
        )
    if status in ("paused", "cancelled"):
        if not spec.get("suspend"):
            spec["suspend"] = True
    elif spec.get("suspend"):
        refuse_if_cancelled(obj, "status")
        spec["suspend"] = False


def new_manifest(
    changes: Mapping[str, Any],
    *,
    namespace: str,
    org_id: str,
    actor: str,
    suffix: str,
    kafka_names: KafkaNames = DEFAULT_NAMES,
    default_topic: str | None = None,
) -> dict[str, Any]:
    """A new ScheduledJob from a POST body (validated, 400 on a bad field)."""
    base: dict[str, Any] = {
        "apiVersion": API_VERSION,
        "kind": "ScheduledJob",
        "metadata": {
            "name": slug(str(changes["name"]), suffix),
            "namespace": namespace,
            "labels": {LABEL_ORG_ID: org_id},
            "annotations": {ANNOTATION_CREATED_BY: actor},
        },
        "spec": {"params": {}},
    }
    if not _LABEL_VALUE.fullmatch(org_id):  # label values are stricter than org ids
        del base["metadata"]["labels"]
    return _applied(base, changes, actor, kafka_names, default_topic)  # nothing shared: no copy


def refuse_if_cancelled(obj: Mapping[str, Any], field: str) -> None:
    """409 for a change a cancelled job cannot take (resume, pause, cancel again)."""
    if ANNOTATION_CANCELLED in ((obj.get("metadata") or {}).get("annotations") or {}):
        raise ConflictError(_CANCELLED_FOR_GOOD, field)


def display_name(obj: Mapping[str, Any]) -> str:
    """The job JSON's ``name``: the display-name annotation, else the object name."""
    meta = obj.get("metadata") or {}
    return str((meta.get("annotations") or {}).get(ANNOTATION_DISPLAY_NAME) or meta.get("name"))


def _true(conditions: list[Any], kind: str) -> bool:
    return any(
        isinstance(c, dict) and c.get("type") == kind and c.get("status") == "True"
        for c in conditions
    )


def job_status(obj: Mapping[str, Any]) -> JobStatus:
    """cancelled (for good), paused (suspended), failed (invalid spec or last run failed),
    running (a run is active), completed (a bounded job that will run no more), else
    scheduled."""
    spec = obj.get("spec") or {}
    status = obj.get("status") or {}
    conditions = status.get("conditions") or []
    if ANNOTATION_CANCELLED in ((obj.get("metadata") or {}).get("annotations") or {}):
        return "cancelled"
    if spec.get("suspend"):
        return "paused"
    if _true(conditions, ConditionType.INVALID_SPEC):
        return "failed"
    if status.get("active"):
        return "running"
    if _true(conditions, "Complete"):
        return "completed"
    if (status.get("lastRun") or {}).get("phase") == RunPhase.FAILED.value:
        return "failed"
    return "scheduled"


def _last_run(status: Mapping[str, Any]) -> str | None:
    starts = [a.get("startTime") or a.get("slot") for a in status.get("active") or []]
    last = status.get("lastRun") or {}
    starts.append(last.get("startTime") or last.get("slot"))
    known = [s for s in starts if s]
    return max(known, key=datetime.fromisoformat) if known else None


def job_view(obj: Mapping[str, Any]) -> Job:
    """The job JSON of a ScheduledJob object (as the API server returns it)."""
    meta = obj.get("metadata") or {}
    spec = obj.get("spec") or {}
    status = obj.get("status") or {}
    schedule = spec.get("schedule") or {}
    params = spec.get("params")
    return Job(
        **spec_fields_view(spec).model_dump(),
        id=str(meta.get("uid")),
        name=display_name(obj),
        schedule=schedule_text(schedule),
        timezone=str(schedule.get("timeZone") or "UTC"),
        type=type_for(str(spec.get("template", ""))),
        payload=params if isinstance(params, dict) else {},
        status=job_status(obj),
        last_run=_last_run(status),
        next_run=status.get("nextRunTime"),
        resource_name=str(meta.get("name")),
        created_by=(meta.get("annotations") or {}).get(ANNOTATION_CREATED_BY),
        created_at=meta.get("creationTimestamp"),
    )


def phases_for(status: RunStatus | None) -> tuple[RunState, ...]:
    """The history states (phases, refined by the timeout and dead-letter marks) a run
    ``status`` filter selects (none: all): ``failed`` is neither ``timeout`` nor
    ``dead_lettered``, as a row shows one status."""
    if status is None:
        return ()
    return tuple(state for state in RunState if run_status(state) == status)


def run_view(record: RunRecord) -> Run:
    """The run JSON of a history row (its status from its state, :func:`state_of`)."""
    return Run(
        id=record.run_name,
        job_id=record.scheduledjob_uid,
        status=cast(RunStatus, run_status(state_of(record))),
        reason=record.reason,
        start_time=record.started_at,
        end_time=record.finished_at,
        error_message=record.error,
        result=record.result,
        slot=record.slot,
        trigger=record.trigger,
        attempt=record.attempt,
        trace_id=record.trace_id,
    )
