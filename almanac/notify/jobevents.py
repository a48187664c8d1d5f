"""Pure formatting of a ScheduledJob's lifecycle events (``almanac.job.*``).

The operator decides which changes to announce (:func:`almanac.core.jobchanges.job_changes`)
and this module writes each as a CloudEvent in the run events' format (same ``source``,
same topic, same message key: the job's uid, so one job's events stay in order on one
partition). ``data.namespace`` lets the relay send the ``almanac-namespace`` header, and
``data.org_id`` names the organisation, as every message on the shared events topic does;
``data.suspend_reason`` says why a suspended job is (a failure streak pauses one).

The id is a UUIDv5 of (job uid, the change's key, action): the key names the change
itself (``created``, ``deleted``, the write's ``resourceVersion``, the cancellation's
instant), so the same change seen again (a relist, a second leader inside the first-sight
window) gives the same id and the outbox keeps one message.
"""

from __future__ import annotations

from typing import Any

from almanac.core.jobchanges import JobAction, JobChange
from almanac.history.records import OutboxMessage
from almanac.notify.formats import event_id, source_of, timestamp
from almanac.notify.settings import NotifySettings

__all__ = ["JobAction", "job_event", "messages_for_job"]


def job_event(change: JobChange, org_id: str | None) -> dict[str, Any]:
    """The CloudEvent announcing ``change``; ``org_id`` is the namespace's organisation
    (``None``: it belongs to none, or it could not be read)."""
    facts = change.facts
    return {
        "specversion": "1.0",
        "id": event_id("event", facts.uid, change.key, str(change.action)),
        "type": f"almanac.job.{change.action}",
        "source": source_of(facts.namespace, facts.name),
        "subject": facts.name,
        "time": timestamp(change.at),
        "datacontenttype": "application/json",
        "data": {
            "job_id": facts.uid,
            "job_name": facts.name,
            "display_name": facts.display_name,
            "namespace": facts.namespace,
            "org_id": org_id,
            "action": str(change.action),
            "actor": change.actor,
            "generation": facts.generation,
            "suspended": facts.suspended,
            "cancelled_at": timestamp(facts.cancelled_at),
            "suspend_reason": facts.suspend_reason if facts.suspended else None,
        },
    }


def messages_for_job(
    change: JobChange, settings: NotifySettings, org_id: str | None
) -> tuple[OutboxMessage, ...]:
    """The outbox message announcing ``change`` (none when notifications are disabled)."""
    if not settings.enabled:
        return ()
    event = job_event(change, org_id)
    return (OutboxMessage(event["id"], settings.events_topic, change.facts.uid, event),)
