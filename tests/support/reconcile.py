"""Builders for reconcile table tests: situations written as data, outcomes as short text.

A case gives a :class:`~almanac.core.snapshot.Snapshot` (built here from a spec, the last
status, Jobs and RunRequests) and the instant of the pass, and lists the actions it wants
as one line each (``create schedule 12:00 #1 (Launched)``, ``delete schedule 11:59 #1
(replaced)``, ``event Skipped``...), so a table reads as a specification. :func:`check`
runs one case; each table file parametrizes its own test over its cases.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from almanac.core.actions import (
    Action,
    AskRun,
    CountSkip,
    CountTrigger,
    CreateJob,
    DeleteJob,
    KeepJob,
    LaunchRequest,
    Notify,
    PassResult,
    PostEvent,
    SettleRequest,
    SuspendJob,
)
from almanac.core.errors import AlmanacError
from almanac.core.models import ScheduledJobSpec
from almanac.core.naming import rfc3339_utc
from almanac.core.plan import compile_spec, schedule_digest
from almanac.core.reconcile import reconcile
from almanac.core.resource import parse_spec
from almanac.core.runrequests import (
    EventSource,
    RequestPhase,
    RunRequestSpec,
    RunRequestStatus,
)
from almanac.core.runs import JobObservation, RunRequest, job_name_of, run_now_label
from almanac.core.snapshot import ObjectRef, Snapshot, StoredRequest
from almanac.core.status import RunPhase, ScheduledJobStatus, TriggerKind
from almanac.core.templates import JobTemplateSpec
from almanac.core.templateuse import use_refusal
from almanac.core.triggers import compile_triggers

__all__ = [
    "CREATED",
    "REF",
    "UNCHECKED",
    "Case",
    "at",
    "check",
    "describe",
    "describe_pass",
    "iso",
    "job",
    "kafka",
    "outcome",
    "request",
    "snapshot",
    "spec_of",
    "template_of",
]

REF = ObjectRef("team-a", "report", "uid-1")
#: The ScheduledJob was created at 11:00 on 1 Dec 2026; passes happen later that day.
CREATED = datetime(2026, 12, 1, 11, 0, tzinfo=UTC)
COMMAND = JobTemplateSpec(
    image="almanac:test",
    command=["python3", "-m", "almanac.executor"],
    params_schema={
        "type": "object",
        "required": ["command"],
        "properties": {"command": {"type": "array", "items": {"type": "string"}}},
    },
)


def at(hhmmss: str) -> datetime:
    """An instant on 1 Dec 2026 (UTC) from ``"12:00"`` or ``"12:00:30"``."""
    parts = [int(p) for p in hhmmss.split(":")]
    hour, minute, second = [*parts, 0, 0][:3]
    return datetime(2026, 12, 1, hour, minute, second, tzinfo=UTC)


def iso(hhmmss: str) -> str:
    """:func:`at` as status and specs spell it: ``"2026-12-01T12:00:00Z"``."""
    return rfc3339_utc(at(hhmmss))


def spec_of(**fields: Any) -> dict[str, Any]:
    """A spec document: the command template, every minute, overridden by ``fields``
    (camelCase keys, as a user writes them)."""
    return {
        "template": "command",
        "params": {"command": ["true"]},
        "schedule": {"cron": "* * * * *"},
    } | fields


def kafka(name: str = "orders", **fields: Any) -> dict[str, Any]:
    """A Kafka trigger of a spec (``spec_of(triggers=[kafka()])``), reading topic ``name``."""
    return {"name": name, "kafka": {"topic": name}} | fields


def template_of(
    params_schema: Mapping[str, Any] | None = None,
    allowed_namespaces: Sequence[str] | None = None,
) -> JobTemplateSpec:
    """A template other than the command one: its params schema, the namespaces it serves."""
    return JobTemplateSpec(
        image="almanac:test",
        params_schema=dict(params_schema) if params_schema is not None else None,
        allowed_namespaces=list(allowed_namespaces) if allowed_namespaces is not None else None,
    )


def _clock(instant: datetime) -> str:
    text = f"{instant.hour:02}:{instant.minute:02}"
    return text + (f":{instant.second:02}" if instant.second else "")


def job(
    slot: str,
    phase: str = "Running",
    *,
    trigger: str = "schedule",
    attempt: int = 1,
    finished: str | None = None,
    request: str | None = None,
    n: int = 1,
    run_now_key: str | None = None,
) -> JobObservation:
    """One of the ScheduledJob's Jobs, named as the operator names it."""
    kind = TriggerKind(trigger)
    run = RunRequest(at(slot), kind, attempt, n=n, request=request)
    done = at(finished) if finished else None
    if done is None and phase in ("Succeeded", "Failed"):
        done = at(slot)
    return JobObservation(
        name=job_name_of(REF.name, REF.uid, run),
        slot=at(slot),
        trigger=kind,
        attempt=attempt,
        phase=RunPhase(phase),
        start_time=at(slot),
        completion_time=done,
        request=request,
        run_now=run_now_label(run_now_key) if run_now_key else None,
    )


def request(
    name: str,
    due: str,
    *,
    kind: str = "event",
    trigger: str = "orders",
    phase: str = "Pending",
    job_name: str | None = None,
    params: Mapping[str, Any] | None = None,
    retry_of: str | None = None,
    attempt: int = 1,
) -> StoredRequest:
    """A RunRequest as the operator stores it (``retry_of``: a retry the facade wrote)."""
    source = (
        f"backfill:{at(due).isoformat()}"
        if kind == "backfill"
        else f"retry:{retry_of}"
        if kind == "retry"
        else f"event-{name}"
    )
    return StoredRequest(
        name=name,
        spec=RunRequestSpec(
            scheduled_job=REF.name,
            trigger="" if kind in ("backfill", "manual", "retry") else trigger,
            kind=kind,
            due_time=at(due),
            params=dict(params or {}),
            source=EventSource(id=source),
            attempt=attempt,
            retry_of=retry_of,
        ),
        status=RunRequestStatus(phase=RequestPhase(phase), job=job_name),
    )


def snapshot(
    spec: Mapping[str, Any] | None = None,
    *,
    status: Mapping[str, Any] | None = None,
    jobs: Sequence[JobObservation] = (),
    requests: Sequence[StoredRequest] = (),
    annotations: Mapping[str, str] | None = None,
    template: JobTemplateSpec | None = COMMAND,
    buffered: str | None = None,
    held: Sequence[str] = (),
    degraded: str | None = None,
    last_slot: str | None = None,
    launched: int | None = None,
    events_read_to: str | None = None,
) -> Snapshot:
    """The situation of one pass. ``last_slot`` and ``launched`` are shorthands for a
    status the operator wrote before (last schedule time, runs launched so far); the
    schedule's digest is stamped as the operator stamps it, so no edit is seen unless the
    case gives another ``scheduleHash``. A spec the engine refuses gives the snapshot of an
    invalid ScheduledJob (no spec, its error), as the operator reads one."""
    doc = dict(spec if spec is not None else spec_of())
    parsed: ScheduledJobSpec | None = None
    error: AlmanacError | None = None
    try:
        parsed = parse_spec(doc)
        names = tuple(t.name for t in compile_triggers(parsed.triggers))
    except AlmanacError as exc:
        parsed, names, error = None, (), exc
    written: dict[str, Any] = {}
    if parsed is not None:
        written["scheduleHash"] = schedule_digest(parsed)
    if last_slot is not None:
        written["lastScheduleTime"] = at(last_slot).isoformat()
    if launched is not None:
        written["counts"] = {"launched": launched}
    written |= dict(status or {})
    refusal = None
    if template is not None and parsed is not None:
        params = parsed.params if parsed.schedule is not None else None
        refusal = use_refusal(
            parsed.template,
            template.allowed_namespaces,
            REF.namespace,
            params,
            template.params_schema,
        )
    return Snapshot(
        ref=REF,
        created=CREATED,
        spec=parsed,
        compiled=compile_spec(parsed) if parsed is not None else None,
        error=error,
        annotations=dict(annotations or {}),
        status=ScheduledJobStatus.model_validate(written),
        jobs={j.name: j for j in jobs},
        requests={r.name: r for r in requests},
        trigger_names=names,
        buffered=at(buffered) if buffered else None,
        template=template,
        refusal=refusal,
        held=frozenset(held),
        degraded=degraded,
        events_read_to=at(events_read_to) if events_read_to else None,
    )


def _run(run: RunRequest) -> str:
    return f"{run.trigger.value} {_clock(run.slot)} #{run.attempt}"


def _known(s: Snapshot, name: str, created: Mapping[str, RunRequest]) -> str:
    seen = s.jobs.get(name)
    if seen is not None:
        return f"{seen.trigger.value} {_clock(seen.slot)} #{seen.attempt}"
    run = created.get(name)
    return _run(run) if run is not None else name


def describe(action: Action, s: Snapshot, created: Mapping[str, RunRequest] | None = None) -> str:
    """One action as a line of a case's ``want``; ``created`` names the Jobs the pass made
    before it (a Job a pass creates and then replaces is described by its run)."""
    created = created or {}
    match action:
        case AskRun(request=name):
            return f"ask {name}"
        case CreateJob(run=run, reason=reason):
            return f"create {_run(run)} ({reason})"
        case LaunchRequest(request=name, reason=reason):
            return f"launch {name} ({reason})"
        case DeleteJob(job=name, pruned=pruned):
            return f"delete {_known(s, name, created)} ({'pruned' if pruned else 'replaced'})"
        case KeepJob(job=name):
            return f"keep {_known(s, name, created)}"
        case SettleRequest(request=name, phase=phase):
            return f"settle {name} {phase}"
        case PostEvent(reason=reason):
            return f"event {reason}"
        case CountTrigger(trigger=trigger, outcome=what):
            return f"count {trigger} {what}"
        case CountSkip(reason=reason, count=count):
            return f"metric skipped {reason}" + (f" x{count}" if count > 1 else "")
        case SuspendJob(counted_to=name):
            return f"suspend after {_known(s, name, created)}"
        case Notify(run=name, outcomes=outcomes, paused=paused):
            told = "Paused" if paused else "/".join(outcomes)
            return f"notify {told} {_known(s, name, created)}"
    raise AssertionError(f"unknown action {action!r}")


def describe_pass(actions: Sequence[Action], s: Snapshot) -> list[str]:
    """A pass's actions as the lines of a case's ``want``, in order."""
    created: dict[str, RunRequest] = {}
    lines = []
    for action in actions:
        lines.append(describe(action, s, created))
        if isinstance(action, CreateJob):
            created[action.job] = action.run
    return lines


def _cancelled(actions: Sequence[Action], s: Snapshot) -> list[str]:
    """The history rows of the runs a pass replaced: ``schedule 11:59 #1 Cancelled at
    12:00:01``."""
    return [
        f"{_known(s, a.job, {})} {a.cancelled.phase} at {_clock(a.cancelled.completion_time)}"
        for a in actions
        if isinstance(a, DeleteJob) and a.cancelled and a.cancelled.completion_time
    ]


class Unchecked:
    """The type of :data:`UNCHECKED`: a field a case leaves alone."""


UNCHECKED = Unchecked()


@dataclass(frozen=True)
class Case:
    """One named situation and what a pass at ``now`` must do about it.

    ``status`` lists fields of the written status to check: a dotted path
    (``counts.launched``), ``condition <Type>`` for ``(status, reason)`` or ``message
    <Type>`` for a condition's message. ``wake`` is the next pass's instant (``None``:
    none), ``buffered`` the BufferOne slot held after the pass and ``cancelled`` the history
    rows of the runs it replaced, ``skipped_rows`` the skipped slots the pass names for
    the history (``"HH:MM reason"``, in action order), each checked unless left
    :data:`UNCHECKED`.
    """

    name: str
    given: Snapshot
    now: datetime
    want: Sequence[str]
    status: Mapping[str, Any] = field(default_factory=dict)
    wake: datetime | Unchecked | None = UNCHECKED
    buffered: datetime | Unchecked | None = UNCHECKED
    cancelled: Sequence[str] | Unchecked = UNCHECKED
    skipped_rows: Sequence[str] | Unchecked = UNCHECKED


def skipped_rows(actions: Sequence[Action]) -> list[str]:
    """The skipped slots a pass names for the history, as ``"HH:MM reason"``."""
    return [
        f"{slot:%H:%M} {a.reason}" for a in actions if isinstance(a, CountSkip) for slot in a.slots
    ]


def outcome(result: PassResult, key: str) -> Any:
    """A field of the status a pass wrote (see :class:`Case`)."""
    if key.startswith(("condition ", "message ")):
        what, kind = key.split(" ", 1)
        found = [c for c in result.status["conditions"] if c["type"] == kind]
        if not found:
            return None
        return (
            found[0]["message"] if what == "message" else (found[0]["status"], found[0]["reason"])
        )
    value: Any = result.status
    for part in key.split("."):
        value = None if value is None else value.get(part)
    return value


def check(case: Case) -> None:
    """Run one pass of ``case`` and compare what it did with what the case wants."""
    result = reconcile(case.given, case.now)
    lines = describe_pass(result.actions, case.given)
    wanted = list(case.want)
    assert lines == wanted
    for key, expected in case.status.items():
        assert outcome(result, key) == expected, key
    if case.wake is not UNCHECKED:
        assert result.wake == case.wake, "wake"
    if case.buffered is not UNCHECKED:
        assert result.buffered == case.buffered, "buffered"
    if not isinstance(case.cancelled, Unchecked):
        assert _cancelled(result.actions, case.given) == list(case.cancelled), "cancelled"
    if not isinstance(case.skipped_rows, Unchecked):
        assert skipped_rows(result.actions) == list(case.skipped_rows), "skipped_rows"
