"""Almanac's names on the Kubernetes API, spelled once: the API group and version, the
resources, every ``almanac.dev/*`` label and annotation, the condition types and their
reasons, and the reasons of the Events the operator posts.

Why one module: the operator, the facade, the webhook and the chart checks all read and
write these names, and a name spelled twice drifts (a label the operator writes and the
facade selects on under another spelling is a silent bug). Everything else imports from
here; ``tests/unit/core/test_vocabulary.py`` fails when an ``almanac.dev`` string appears
anywhere else in the package. Pure: no imports from the rest of Almanac.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Final

__all__ = [
    "ANNOTATION_BACKFILL",
    "ANNOTATION_CANCELLED",
    "ANNOTATION_CREATED_BY",
    "ANNOTATION_DISPLAY_NAME",
    "ANNOTATION_EVENT_ID",
    "ANNOTATION_IDEMPOTENCY_KEY",
    "ANNOTATION_KAFKA_TOPICS",
    "ANNOTATION_PRIORITY",
    "ANNOTATION_QUEUED_REASON",
    "ANNOTATION_REQUEST_DIGEST",
    "ANNOTATION_RETRY",
    "ANNOTATION_RUN_NOW",
    "ANNOTATION_SCHEDULED_TIME",
    "ANNOTATION_SUSPEND_REASON",
    "ANNOTATION_UPDATED_BY",
    "API_VERSION",
    "CLUSTER_JOB_TEMPLATES",
    "GROUP",
    "JOB_DEADLINE_EXCEEDED",
    "JOB_TEMPLATES",
    "LABEL_ATTEMPT",
    "LABEL_BUILTIN",
    "LABEL_KEY",
    "LABEL_ORG_ID",
    "LABEL_QUEUED",
    "LABEL_RUN_NOW_KEY",
    "LABEL_RUN_REQUEST",
    "LABEL_SCHEDULED_JOB",
    "LABEL_SCHEDULED_JOB_UID",
    "LABEL_SLOT",
    "LABEL_TRIGGER",
    "LABEL_TRIGGER_NAME",
    "RUN_REQUESTS",
    "SCHEDULED_JOBS",
    "VERSION",
    "ConditionReason",
    "ConditionType",
    "EventReason",
]

# --- the API ----------------------------------------------------------------------------

GROUP: Final = "almanac.dev"
VERSION: Final = "v1alpha1"
API_VERSION: Final = f"{GROUP}/{VERSION}"
#: Plurals of Almanac's resources (the URL path segment, RBAC's ``resources``).
SCHEDULED_JOBS: Final = "scheduledjobs"
JOB_TEMPLATES: Final = "jobtemplates"
CLUSTER_JOB_TEMPLATES: Final = "clusterjobtemplates"
RUN_REQUESTS: Final = "runrequests"

# --- labels (selectable) -----------------------------------------------------------------

#: On a run's Job and RunRequest: its ScheduledJob's name (truncated to 63) and uid.
LABEL_SCHEDULED_JOB: Final = f"{GROUP}/scheduledjob"
LABEL_SCHEDULED_JOB_UID: Final = f"{GROUP}/scheduledjob-uid"
#: On a run's Job: its slot (Unix seconds), why it exists, its attempt.
LABEL_SLOT: Final = f"{GROUP}/slot"
LABEL_TRIGGER: Final = f"{GROUP}/trigger"
LABEL_ATTEMPT: Final = f"{GROUP}/attempt"
#: On a manual run's Job: a digest of the run-now key that asked for it.
LABEL_RUN_NOW_KEY: Final = f"{GROUP}/run-now-key"
#: On an event run's Job: the RunRequest behind it.
LABEL_RUN_REQUEST: Final = f"{GROUP}/run-request"
#: On a RunRequest: a digest of its correlation key (cancel events select by it) and the
#: name of its trigger.
LABEL_KEY: Final = f"{GROUP}/key"
LABEL_TRIGGER_NAME: Final = f"{GROUP}/trigger-name"
#: On a namespace: the organisation it belongs to.
LABEL_ORG_ID: Final = f"{GROUP}/org-id"
#: On a run's Job created suspended because a limit was reached (value ``true``): the
#: launch queue, ``kubectl get jobs -l almanac.dev/queued=true``. Removed on release.
LABEL_QUEUED: Final = f"{GROUP}/queued"
#: On the chart's built-in ClusterJobTemplates.
LABEL_BUILTIN: Final = f"{GROUP}/builtin"

# --- annotations (free text) ------------------------------------------------------------

#: On a run's Job: its slot as RFC 3339; the identity of the event behind it.
ANNOTATION_SCHEDULED_TIME: Final = f"{GROUP}/scheduled-time"
ANNOTATION_EVENT_ID: Final = f"{GROUP}/event-id"
#: On a ScheduledJob: requests (run now with a key, retry a run) and why it is suspended.
ANNOTATION_RUN_NOW: Final = f"{GROUP}/run-now"
ANNOTATION_RETRY: Final = f"{GROUP}/retry"
#: On a ScheduledJob: run the slots of ``<start>/<end>`` (RFC 3339 instants) again, asked
#: by someone who may patch the job but not write RunRequests (``almanac backfill``).
ANNOTATION_BACKFILL: Final = f"{GROUP}/backfill"
ANNOTATION_SUSPEND_REASON: Final = f"{GROUP}/suspend-reason"
#: When a job was cancelled (seed 004): it stays suspended for good, kept for its history.
ANNOTATION_CANCELLED: Final = f"{GROUP}/cancelled"
#: On a ScheduledJob written through REST: its display name and who created/changed it.
ANNOTATION_DISPLAY_NAME: Final = f"{GROUP}/display-name"
ANNOTATION_CREATED_BY: Final = f"{GROUP}/created-by"
ANNOTATION_UPDATED_BY: Final = f"{GROUP}/updated-by"
#: On a ScheduledJob created through REST with an ``Idempotency-Key``: digests of the
#: organisation and key, and of the request body (a create sent again answers this job).
ANNOTATION_IDEMPOTENCY_KEY: Final = f"{GROUP}/idempotency-key"
ANNOTATION_REQUEST_DIGEST: Final = f"{GROUP}/request-digest"
#: On a namespace: the Kafka topics its jobs may use.
ANNOTATION_KAFKA_TOPICS: Final = f"{GROUP}/kafka-topics"
#: On a queued run's Job: which limit holds it (a :class:`~almanac.core.queueing.Cap`),
#: and the value of its PriorityClass (the queue's order; PriorityClass values are
#: immutable, so the value read at launch stays true).
ANNOTATION_QUEUED_REASON: Final = f"{GROUP}/queued-reason"
ANNOTATION_PRIORITY: Final = f"{GROUP}/priority"


# --- conditions and Events ----------------------------------------------------------------

#: The reason of a Job's ``Failed``/``FailureTarget`` condition when
#: ``activeDeadlineSeconds`` ended it (Kubernetes' spelling): the run timed out.
JOB_DEADLINE_EXCEEDED: Final = "DeadlineExceeded"


class ConditionType(StrEnum):
    """The conditions of a ScheduledJob's status."""

    READY = "Ready"
    SUSPENDED = "Suspended"
    INVALID_SPEC = "InvalidSpec"
    DEGRADED = "Degraded"
    COMPLETE = "Complete"


class ConditionReason(StrEnum):
    """Why a condition has its status (``kubectl describe`` shows it)."""

    SCHEDULED = "Scheduled"
    INVALID_SPEC = "InvalidSpec"
    VALID = "Valid"
    TEMPLATE_NOT_FOUND = "TemplateNotFound"
    COMPLETE = "Complete"
    SCHEDULING = "Scheduling"
    SUSPENDED = "Suspended"
    RUNNING = "Running"
    HISTORY_UNAVAILABLE = "HistoryUnavailable"
    HEALTHY = "Healthy"


class EventReason(StrEnum):
    """Reasons of the Kubernetes Events the operator posts on a ScheduledJob."""

    LAUNCHED = "Launched"
    TRIGGERED = "Triggered"
    BACKFILLED = "Backfilled"
    RETRYING = "Retrying"
    RUN_NOW = "RunNow"
    SKIPPED = "Skipped"
    BUFFERED = "Buffered"
    REPLACED = "Replaced"
    SUCCEEDED = "Succeeded"
    FAILED = "Failed"
    CANCELLED = "Cancelled"
    RETRY_REFUSED = "RetryRefused"
    BACKFILL_REQUESTED = "BackfillRequested"
    BACKFILL_REFUSED = "BackfillRefused"
    EVENT_MATCHED = "EventMatched"
    TRIGGER_FAILED = "TriggerFailed"
    PAUSED_AFTER_FAILURES = "PausedAfterFailures"
    NOTIFICATION_FAILED = "NotificationFailed"
    QUEUED = "Queued"
    DEQUEUED = "Dequeued"
