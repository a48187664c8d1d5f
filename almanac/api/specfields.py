"""The seed-vocabulary spec fields of the job JSON ↔ ``ScheduledJob.spec``. Pure.

Round trips lose nothing: a job read with ``GET`` and written back unchanged leaves the
spec exactly as it was, whoever wrote it. That holds because a field is written only when
its value differs from what the spec already means (the spec's ``90s`` and the job JSON's
``90`` are the same value, so ``90s`` stays; a default left out of the spec stays left
out). Everything in the spec the job JSON does not name (``podTemplate`` powers, unknown
future fields) is untouched.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import UTC, datetime, timedelta
from typing import Any, Final, TypeVar

from pydantic import ValidationError

from almanac.api.errors import BadRequestError, ForbiddenError, Problem, bad_request_from
from almanac.api.specschemas import SPEC_FIELDS, OverlapPolicyName, SpecFields
from almanac.core.durations import format_duration, parse_duration
from almanac.core.errors import AlmanacError, InvalidInputError, InvalidSpecError
from almanac.core.models import CatchUp, History, OverlapPolicy, Retry, Trigger
from almanac.core.notifymodels import Notification, NotifyOn
from almanac.core.resource import validate_model

__all__ = ["apply_spec_fields", "spec_fields_view"]

_POLICY_NAMES: Final[dict[OverlapPolicy, OverlapPolicyName]] = {
    OverlapPolicy.ALLOW: "allow",
    OverlapPolicy.FORBID: "forbid",
    OverlapPolicy.REPLACE: "replace",
    OverlapPolicy.BUFFER_ONE: "buffer_one",
}
_POLICIES: Final = {name: policy for policy, name in _POLICY_NAMES.items()}
_M = TypeVar("_M", Retry, CatchUp, History)


def _seconds(text: Any) -> int | None:
    """Whole seconds of a spec duration (None when absent or unreadable: the view shows
    what it can of an object the webhook never saw)."""
    if not isinstance(text, str):
        return None
    try:
        return int(parse_duration(text, allow_zero=True).total_seconds())
    except AlmanacError:
        return None


def _duration(seconds: int, old: Any) -> str:
    """``seconds`` as a spec duration, keeping the spec's own spelling when it means the same."""
    return old if _seconds(old) == seconds else format_duration(timedelta(seconds=seconds))


def _iso(value: datetime) -> str:
    return value.astimezone(UTC).isoformat().replace("+00:00", "Z")


def _model(kind: type[_M], raw: Any) -> _M:
    try:
        return kind.model_validate(raw if isinstance(raw, Mapping) else {})
    except ValidationError:
        return kind()


def _triggers_view(raw: Any) -> list[dict[str, Any]]:
    shown = []
    for item in raw if isinstance(raw, list) else []:
        try:
            trigger = Trigger.model_validate(item)
        except ValidationError:
            continue  # refused by admission; nothing REST could show faithfully
        shown.append(trigger.model_dump(mode="json", by_alias=False, exclude_unset=True))
    return shown


def _notifications_view(raw: Any) -> list[dict[str, Any]]:
    shown = []
    for item in raw if isinstance(raw, list) else []:
        try:
            entry = Notification.model_validate(item)
        except ValidationError:
            continue  # refused by admission; nothing REST could show faithfully
        shown.append(entry.model_dump(mode="json", by_alias=False, exclude_unset=True))
    return shown


def spec_fields_view(spec: Mapping[str, Any]) -> SpecFields:
    """The job JSON's spec fields for ``spec`` (defaults shown where the spec leaves them)."""
    schedule = _mapping(spec.get("schedule"))
    retry = _model(Retry, spec.get("retry"))
    catch_up = _model(CatchUp, spec.get("catchUp"))
    history = _model(History, spec.get("history"))
    try:
        policy = OverlapPolicy(spec.get("overlapPolicy") or OverlapPolicy.FORBID)
    except ValueError:
        policy = OverlapPolicy.FORBID
    return SpecFields.model_validate(
        {
            "description": spec.get("description"),
            "tags": list(spec.get("tags") or []),
            "timeout_seconds": _seconds(spec.get("timeout")),
            "retry_policy": {
                "max_retries": retry.max_attempts - 1,
                "initial_delay_seconds": _seconds(retry.backoff.initial),
                "backoff_factor": retry.backoff.factor,
                "max_delay_seconds": _seconds(retry.backoff.max),
            },
            "overlap_policy": _POLICY_NAMES[policy],
            "allow_overlap": policy is OverlapPolicy.ALLOW,
            "priority": spec.get("priority"),
            "concurrency": spec.get("maxConcurrentRuns"),
            "start_date": schedule.get("startTime"),
            "end_date": schedule.get("endTime"),
            "max_executions": schedule.get("maxRuns"),
            "jitter_seconds": _seconds(schedule.get("jitter")),
            "pause_after_failures": spec.get("pauseAfterFailures"),
            "catch_up": {
                "window_seconds": _seconds(catch_up.window),
                "max_runs": catch_up.max_runs,
            },
            "history_limits": {
                "successful": history.successful_jobs,
                "failed": history.failed_jobs,
            },
            "triggers": _triggers_view(spec.get("triggers")),
            "notifications": _notifications_view(spec.get("notifications")),
            "pod_template": spec.get("podTemplate"),
        }
    )


def _mapping(value: Any) -> Mapping[str, Any]:
    return value if isinstance(value, Mapping) else {}


def _set(target: dict[str, Any], key: str, value: Any) -> None:
    """Set ``key``, or remove it for a cleared value (None, empty)."""
    if value is None or value in ([], ""):
        target.pop(key, None)
    else:
        target[key] = value


def _schedule(spec: dict[str, Any]) -> dict[str, Any]:
    schedule = spec.get("schedule")
    if not isinstance(schedule, dict):
        schedule = spec["schedule"] = {}
    return schedule


def _write_retry(spec: dict[str, Any], value: Mapping[str, Any]) -> None:
    backoff = _mapping(_mapping(spec.get("retry")).get("backoff"))
    spec["retry"] = {
        "maxAttempts": value["max_retries"] + 1,
        "backoff": {
            "initial": _duration(value["initial_delay_seconds"], backoff.get("initial")),
            "factor": value["backoff_factor"],
            "max": _duration(value["max_delay_seconds"], backoff.get("max")),
        },
    }


def _write_catch_up(spec: dict[str, Any], value: Mapping[str, Any]) -> None:
    spec["catchUp"] = {
        "window": _duration(value["window_seconds"], _mapping(spec.get("catchUp")).get("window")),
        "maxRuns": value["max_runs"],
    }


def _write_triggers(spec: dict[str, Any], value: list[Any] | None) -> None:
    written = []
    for index, item in enumerate(value or []):
        try:
            trigger = Trigger.model_validate(item)
        except ValidationError as exc:
            raise _trigger_error(index, exc) from None
        written.append(trigger.model_dump(mode="json", by_alias=True, exclude_unset=True))
    _set(spec, "triggers", written)


def _trigger_error(index: int, exc: ValidationError) -> BadRequestError:
    problems = []
    for error in exc.errors():
        where = "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in error["loc"])
        problems.append(Problem(f"triggers[{index}]{where}", error["msg"], "bad_request"))
    return BadRequestError(problems[0].message, problems[0].field or "", problems)


def _seed_entries(value: Mapping[str, Any]) -> list[dict[str, Any]]:
    """Seed 003's ``{on_success, on_failure}`` as ``spec.notifications`` entries."""
    entries = []
    for key, outcome in (("on_failure", NotifyOn.FAILED), ("on_success", NotifyOn.SUCCEEDED)):
        if value.get(key):
            entries.append({"on": [outcome.value], "email": {"to": list(value[key])}})
    return entries


def _write_notifications(spec: dict[str, Any], value: Any) -> None:
    items = _seed_entries(value) if isinstance(value, Mapping) else list(value or [])
    written: list[dict[str, Any]] = []
    problems: list[InvalidInputError] = []
    for index, item in enumerate(items):
        try:
            entry = validate_model(Notification, item, f"notifications[{index}]")
        except InvalidSpecError as exc:
            problems.extend(exc.problems)
            continue
        written.append(entry.model_dump(mode="json", by_alias=True, exclude_unset=True))
    if problems:
        raise bad_request_from(InvalidSpecError(problems))
    _set(spec, "notifications", written)


def _refuse_pod_template(spec: dict[str, Any], value: Any) -> None:
    raise ForbiddenError(
        "pod_template can only be changed with kubectl: it grants powers (a ServiceAccount, "
        "Secrets, node placement) that admission checks against the writer's Kubernetes "
        "identity, and a REST caller has none; send it back unchanged or leave it out",
        "pod_template",
    )


def _schedule_writer(key: str, convert: Callable[[Any, Any], Any]) -> Callable[..., None]:
    def write(spec: dict[str, Any], value: Any) -> None:
        schedule = _schedule(spec)
        _set(schedule, key, None if value is None else convert(value, schedule.get(key)))

    return write


def _spec_writer(key: str, convert: Callable[[Any, Any], Any]) -> Callable[..., None]:
    def write(spec: dict[str, Any], value: Any) -> None:
        _set(spec, key, None if value is None else convert(value, spec.get(key)))

    return write


def _keep(value: Any, old: Any) -> Any:
    return value


_WRITERS: Final[dict[str, Callable[[dict[str, Any], Any], None]]] = {
    "description": _spec_writer("description", _keep),
    "tags": _spec_writer("tags", _keep),
    "timeout_seconds": _spec_writer("timeout", _duration),
    "retry_policy": _write_retry,
    "overlap_policy": _spec_writer("overlapPolicy", lambda v, _: _POLICIES[v].value),
    "priority": _spec_writer("priority", _keep),
    "concurrency": _spec_writer("maxConcurrentRuns", _keep),
    "start_date": _schedule_writer("startTime", lambda v, _: _iso(v)),
    "end_date": _schedule_writer("endTime", lambda v, _: _iso(v)),
    "max_executions": _schedule_writer("maxRuns", _keep),
    "jitter_seconds": _schedule_writer("jitter", _duration),
    "pause_after_failures": _spec_writer("pauseAfterFailures", _keep),
    "catch_up": _write_catch_up,
    "history_limits": _spec_writer(
        "history", lambda v, _: {"successfulJobs": v["successful"], "failedJobs": v["failed"]}
    ),
    "triggers": _write_triggers,
    "notifications": _write_notifications,
    "pod_template": _refuse_pod_template,
}


def _overlap(changes: Mapping[str, Any], current: OverlapPolicyName | None) -> Any:
    """The overlap policy asked for: ``overlap_policy``, or seed 004's ``allow_overlap``
    (false turns ``allow`` into ``forbid`` and leaves another policy alone); both given
    must agree."""
    policy = changes.get("overlap_policy")
    allow = changes.get("allow_overlap")
    if allow is None:
        return policy
    if policy is not None and (policy == "allow") != allow:
        raise BadRequestError(
            f"allow_overlap {str(allow).lower()} contradicts overlap_policy {policy}; "
            "give one of them",
            "allow_overlap",
        )
    if allow:
        return "allow"
    base = policy or current
    return "forbid" if base in (None, "allow") else base


def apply_spec_fields(spec: dict[str, Any], changes: Mapping[str, Any]) -> None:
    """Write the spec fields in ``changes`` (the job JSON's names, a model dump) into
    ``spec``; a field equal to what the spec already means is left as written."""
    current = spec_fields_view(spec).model_dump()
    wanted = {name: changes[name] for name in SPEC_FIELDS if name in changes}
    wanted.pop("allow_overlap", None)
    if "overlap_policy" in changes or "allow_overlap" in changes:
        wanted["overlap_policy"] = _overlap(changes, current["overlap_policy"])
    for name, value in wanted.items():
        if value is None and name == "overlap_policy":
            continue
        old = current[name]
        new = {**old, **value} if isinstance(value, Mapping) and isinstance(old, Mapping) else value
        if not _same(new, old):  # a PATCH names only the parts it changes
            _WRITERS[name](spec, new)


def _same(value: Any, current: Any) -> bool:
    """Equal as the job JSON means them (an empty list or text is none at all)."""
    if value in ([], "") and current in ([], None, ""):
        return True
    return bool(value == current)
