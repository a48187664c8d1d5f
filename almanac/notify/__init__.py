"""Notifications: platform completion notices and lifecycle events, via the outbox.

Formatting (:mod:`almanac.notify.formats` for runs, :mod:`almanac.notify.jobevents` for a
ScheduledJob's own lifecycle) is pure; the operator commits a run's messages with the run
(:meth:`almanac.history.RunStore.record_run`) and a job's through the same write buffer
(:meth:`almanac.history.RunStore.enqueue`), and the :class:`OutboxRelay` publishes them to
Kafka with the :class:`KafkaPublisher`.
"""

from almanac.notify.formats import (
    EVENT_NAMESPACE,
    event_id,
    messages_for_run,
    namespace_of,
    org_id_of,
    platform_notification,
    run_event,
    run_status,
)
from almanac.notify.jobevents import JobAction, job_event, messages_for_job
from almanac.notify.publisher import (
    KafkaPublisher,
    Message,
    NamespacedMessage,
    Publisher,
    encode_payload,
)
from almanac.notify.relay import OutboxRelay
from almanac.notify.settings import NotifySettings

__all__ = [
    "EVENT_NAMESPACE",
    "JobAction",
    "KafkaPublisher",
    "Message",
    "NamespacedMessage",
    "NotifySettings",
    "OutboxRelay",
    "Publisher",
    "encode_payload",
    "event_id",
    "job_event",
    "messages_for_job",
    "messages_for_run",
    "namespace_of",
    "org_id_of",
    "platform_notification",
    "run_event",
    "run_status",
]
