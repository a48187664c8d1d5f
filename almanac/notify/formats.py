"""Pure formatting of what Almanac publishes: platform notifications and lifecycle events.

Two kinds of message about runs, both enqueued in the outbox with the run that caused them
(a ScheduledJob's own lifecycle events are :mod:`almanac.notify.jobevents`):

* the **completion notification**, in the platform notification format (``version``,
  ``bundle``, ``application``, ``event_type``, ``timestamp``, ``account_id``, ``org_id``,
  ``context``, plus ``events``/``recipients``), on the notifications topic, when a run
  ends Succeeded, Failed or Cancelled. An export's notice is seed 000's
  ``export-completed``: ``context`` carries the ``export_id`` and ``download_url`` the
  executor's export payload wrote into its result (read in the payload's own camelCase
  spelling, ``details.exportId``/``details.downloadUrl``, so there is one spelling to keep)
  and the seed's status words (``complete``, ``failed``); ``org_id``/``account_id`` come
  from the run's params (:func:`notice_identity`);
* **lifecycle events** (CloudEvents 1.0 structured JSON: ``id``, ``type``, ``source``,
  ``time``, ``data``) on the events topic: run started/succeeded/failed/skipped/cancelled,
  with ``data.will_retry`` (a failed attempt the retry policy follows with another) and
  ``data.org_id``. Their shape is the one the facade's ``POST /events`` accepts, so an
  ``after`` trigger can consume them.

Every id is a UUIDv5 of (kind, ScheduledJob uid, run or revision, phase or action): a
replay produces the same id, so the outbox stores it once and a consumer drops duplicates.
Payloads use only the record's own times, so a redelivery is byte-for-byte identical.

Both carry the ScheduledJob's namespace (``data.namespace``, ``events[0].payload.namespace``);
:func:`namespace_of` reads it back so the relay can send it as the ``almanac-namespace``
header: the events topic holds every organisation's records.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any, Final

from almanac.core.orgs import EXPORT_TEMPLATE
from almanac.core.status import RunPhase
from almanac.core.vocabulary import API_VERSION, SCHEDULED_JOBS
from almanac.history.records import OutboxMessage, RunRecord
from almanac.history.states import RunState
from almanac.notify.settings import NotifySettings

__all__ = [
    "EVENT_NAMESPACE",
    "event_id",
    "messages_for_run",
    "namespace_of",
    "notice_identity",
    "org_id_of",
    "platform_notification",
    "run_event",
    "run_status",
    "source_of",
    "timestamp",
]

#: UUIDv5 namespace of every Almanac event id.
EVENT_NAMESPACE: Final = uuid.UUID("6f1c1f0e-5b7a-5d43-9a0e-a1a2a3a4a5a6")
_ORG_NAMESPACE: Final = re.compile(r"org-(.+)")
_RUN_STATUS: Final = {
    RunState.QUEUED: "queued",
    RunState.PENDING: "running",
    RunState.RUNNING: "running",
    RunState.SUCCEEDED: "completed",
    RunState.FAILED: "failed",
    RunState.TIMEOUT: "timeout",
    RunState.DEAD_LETTERED: "dead_lettered",
    RunState.SKIPPED: "skipped",
    RunState.CANCELLED: "cancelled",
}
_RUN_EVENT: Final = {
    RunPhase.RUNNING: "started",
    RunPhase.SUCCEEDED: "succeeded",
    RunPhase.FAILED: "failed",
    RunPhase.SKIPPED: "skipped",
    RunPhase.CANCELLED: "cancelled",
}
_NOTIFIED: Final = frozenset({RunPhase.SUCCEEDED, RunPhase.FAILED, RunPhase.CANCELLED})
#: ``context.status`` of an export's notice: the Export Service's own words (seed 000), which
#: consumers of ``export-completed`` compare with; other notices use :func:`run_status`.
_EXPORT_STATUS: Final = {
    RunPhase.SUCCEEDED: "complete",
    RunPhase.FAILED: "failed",
    RunPhase.CANCELLED: "cancelled",
}
#: What the export payload writes in its result ``details`` (see
#: :mod:`almanac.executor.payloads.export`) and the notice's ``context`` name for it.
_EXPORT_FACTS: Final = (("exportId", "export_id"), ("downloadUrl", "download_url"))
_SOURCE: Final = f"/apis/{API_VERSION}/namespaces/{{ns}}/{SCHEDULED_JOBS}/{{name}}"


def event_id(kind: str, scheduledjob_uid: str, subject: str, what: str) -> str:
    """The stable id of one message: same inputs, same id, on every replica and replay."""
    return str(uuid.uuid5(EVENT_NAMESPACE, f"{kind}/{scheduledjob_uid}/{subject}/{what}"))


def run_status(state: RunPhase | RunState) -> str:
    """The facade's run status word for a phase or a state (``Succeeded`` → ``completed``,
    ``DeadLettered`` → ``dead_lettered``); the words of a run's row come from its state
    (:func:`~almanac.history.states.state_of`)."""
    return _RUN_STATUS[RunState(state.value)]


def org_id_of(namespace: str) -> str | None:
    """The organisation of an ``org-{org_id}`` namespace, else ``None``."""
    match = _ORG_NAMESPACE.fullmatch(namespace)
    return match.group(1) if match else None


def namespace_of(payload: Mapping[str, Any]) -> str | None:
    """The namespace a published payload is about: a lifecycle event's ``data.namespace``,
    a notification's first ``events[].payload.namespace``; ``None`` if it names none."""
    data = payload.get("data")
    if not isinstance(data, Mapping):
        events = payload.get("events")
        first = events[0] if isinstance(events, list) and events else None
        data = first.get("payload") if isinstance(first, Mapping) else None
    namespace = data.get("namespace") if isinstance(data, Mapping) else None
    return namespace if isinstance(namespace, str) and namespace else None


def timestamp(value: datetime | None) -> str | None:
    """An instant as every published payload writes it: RFC 3339, UTC, ``Z``."""
    return None if value is None else value.astimezone(UTC).isoformat().replace("+00:00", "Z")


def source_of(namespace: str, name: str) -> str:
    """A CloudEvent's ``source``: the ScheduledJob's API path (runs and job events alike)."""
    return _SOURCE.format(ns=namespace, name=name)


def _text(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None


def notice_identity(record: RunRecord, namespace_org: str | None = None) -> tuple[str, str]:
    """``(org_id, account_id)`` of a run's notice; ``""`` where the record does not say.

    ``namespace_org`` is the run's namespace's ``almanac.dev/org-id`` label where the caller
    knows it: the organisation of every run there, whatever the namespace is called (the
    ``org-<id>`` name stands in when it is not known).

    An export acts as an organisation, so its notice names the one it ran as: the params'
    ``orgId`` (admission and the facade make it the namespace's ``almanac.dev/org-id``
    label, whatever the namespace is called) and ``accountNumber`` (the facade fills it from
    the creator's identity). Without an ``orgId`` the export ran as its ``org-<id>``
    namespace's organisation, as every other run's notice says. A present but unusable
    ``orgId`` gives ``""``: the export could not have run as anyone, and a guess could send
    the notice to another organisation. The run's result is never read for this: a custom
    image may write anything there, its params passed admission.
    """
    from_namespace = namespace_org or org_id_of(record.namespace) or ""
    if record.template != EXPORT_TEMPLATE:
        return from_namespace, ""
    params = record.params or {}
    named = params.get("orgId")
    org = from_namespace if named is None else _text(named) or ""
    return org, _text(params.get("accountNumber")) or ""


def _find(result: dict[str, Any] | None, name: str) -> Any:
    """``name`` at the top of the result or in its ``details`` (the executor's shape)."""
    if not result:
        return None
    if name in result:
        return result[name]
    details = result.get("details")
    return details.get(name) if isinstance(details, dict) else None


def _run_data(record: RunRecord, namespace_org: str | None = None) -> dict[str, Any]:
    """A run event's ``data`` (and a notice's ``events[0].payload``). ``org_id`` is the
    organisation the run's notice names (:func:`notice_identity`), ``None`` when it names
    none; ``will_retry`` is the record's (true only for a failed attempt with a next one);
    ``dead_lettered`` marks a failed run with no retry left (listed in the dead letters),
    ``reason`` says why it ended so in a word (a skip's reason, ``timeout``)."""
    duration = record.duration
    return {
        "job_id": record.scheduledjob_uid,
        "job_name": record.scheduledjob,
        "namespace": record.namespace,
        "org_id": notice_identity(record, namespace_org)[0] or None,
        "run_id": record.run_name,
        "template": record.template,
        "trigger": record.trigger,
        "slot": timestamp(record.slot),
        "attempt": record.attempt,
        "phase": record.phase.value,
        "status": run_status(record.phase),
        "started_at": timestamp(record.started_at),
        "finished_at": timestamp(record.finished_at),
        "duration_seconds": None if duration is None else duration.total_seconds(),
        "exit_code": record.exit_code,
        "result": record.result,
        "error": record.error,
        "will_retry": record.will_retry,
        "dead_lettered": record.dead_lettered_at is not None,
        "reason": record.reason,
    }


def _event_time(record: RunRecord) -> datetime:
    if record.phase == RunPhase.RUNNING:
        return record.started_at or record.slot
    return record.finished_at or record.started_at or record.slot


def run_event(record: RunRecord, namespace_org: str | None = None) -> dict[str, Any] | None:
    """The lifecycle event for the record's phase (``None`` for Pending); ``namespace_org``
    is the run's namespace's ``almanac.dev/org-id`` label where the caller knows it."""
    name = _RUN_EVENT.get(record.phase)
    if name is None:
        return None
    return {
        "specversion": "1.0",
        "id": event_id("event", record.scheduledjob_uid, record.run_name, record.phase.value),
        "type": f"almanac.run.{name}",
        "source": source_of(record.namespace, record.scheduledjob),
        "subject": record.run_name,
        "time": timestamp(_event_time(record)),
        "datacontenttype": "application/json",
        "data": _run_data(record, namespace_org),
    }


def platform_notification(
    record: RunRecord,
    settings: NotifySettings,
    *,
    org_id: str | None = None,
    account_id: str | None = None,
    namespace_org: str | None = None,
) -> dict[str, Any] | None:
    """The completion notification in the platform format (``None`` unless the run ended).

    ``event_type`` is ``export-completed`` for the ``export`` template (what existing
    consumers of the seed's notifier subscribe to), with the seed's ``context`` (``status``
    ``complete``/``failed``, ``export_id``, ``download_url``), and ``job-run-completed``
    otherwise (``status`` as the REST facade says it); failure is in ``context.status``,
    as in the seed. ``org_id``/``account_id`` override :func:`notice_identity`.

    The id stays derived from the run status word (``completed``), not the notice's: a
    notice already in an outbox keeps its id when the same run is recorded again.
    """
    if record.phase not in _NOTIFIED:
        return None
    export = record.template == EXPORT_TEMPLATE
    status = run_status(record.phase)
    context: dict[str, Any] = {
        "job_id": record.scheduledjob_uid,
        "job_name": record.scheduledjob,
        "run_id": record.run_name,
        "status": _EXPORT_STATUS[record.phase] if export else status,
    }
    if export:
        for written, name in _EXPORT_FACTS:
            value = _text(_find(record.result, written))
            if value is not None:
                context[name] = value
    if record.error:
        context["error"] = record.error
    org, account = notice_identity(record, namespace_org)
    return {
        "version": settings.version,
        "id": event_id("notification", record.scheduledjob_uid, record.run_name, status),
        "bundle": settings.bundle,
        "application": settings.application,
        "event_type": "export-completed" if export else "job-run-completed",
        "timestamp": timestamp(_event_time(record)),
        "account_id": account if account_id is None else account_id,
        "org_id": org if org_id is None else org_id,
        "context": context,
        "events": [{"metadata": {}, "payload": _run_data(record)}],
        "recipients": [],
    }


def messages_for_run(
    record: RunRecord,
    settings: NotifySettings,
    *,
    org_id: str | None = None,
    account_id: str | None = None,
    namespace_org: str | None = None,
) -> tuple[OutboxMessage, ...]:
    """Outbox messages to commit with ``record``: its lifecycle event, and its notification
    when the run ended. Empty when notifications are disabled."""
    if not settings.enabled:
        return ()
    messages: list[OutboxMessage] = []
    event = run_event(record, namespace_org)
    if event is not None:
        messages.append(
            OutboxMessage(event["id"], settings.events_topic, record.scheduledjob_uid, event)
        )
    notice = platform_notification(
        record, settings, org_id=org_id, account_id=account_id, namespace_org=namespace_org
    )
    if notice is not None:
        messages.append(
            OutboxMessage(notice["id"], settings.notify_topic, record.scheduledjob_uid, notice)
        )
    return tuple(messages)
