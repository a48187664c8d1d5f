"""What one reconcile pass reads about one ScheduledJob, as plain immutable values.

The operator's registry holds each ScheduledJob with its Jobs and RunRequests as watch
events deliver them; before a pass it freezes them into a :class:`Snapshot`, so that
:func:`almanac.core.reconcile.reconcile` decides from values alone (no API server, no
clock, no cache) and table tests can write any situation down as data.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from almanac.core.errors import AlmanacError
from almanac.core.models import ScheduledJobSpec
from almanac.core.runrequests import RunRequestSpec, RunRequestStatus
from almanac.core.runs import JobObservation
from almanac.core.schedule import CompiledSchedule
from almanac.core.status import ScheduledJobStatus, TriggerKind
from almanac.core.templates import JobTemplateSpec

__all__ = [
    "EVENT_RECORD_WINDOW",
    "SLOT_RUNS",
    "ObjectRef",
    "Snapshot",
    "StoredRequest",
    "slots_launched",
]

#: How long an event run's Job is kept when it is the event's only record (no RunRequest):
#: the dedup window of redelivered events, as long as settled RunRequests are kept.
EVENT_RECORD_WINDOW = timedelta(minutes=15)


@dataclass(frozen=True)
class ObjectRef:
    """A ScheduledJob by namespace, name and uid (the uid tells a re-creation apart)."""

    namespace: str
    name: str
    uid: str


@dataclass
class StoredRequest:
    """A RunRequest as the watch last showed it (status may be ahead: ours, not yet echoed).

    Mutable on purpose: the operator settles a request's phase in memory before any await,
    so two launch paths never both launch it.
    """

    name: str
    spec: RunRequestSpec
    status: RunRequestStatus

    @classmethod
    def from_body(cls, body: Mapping[str, Any]) -> StoredRequest:
        return cls(
            name=body["metadata"]["name"],
            spec=RunRequestSpec.model_validate(body.get("spec") or {}),
            status=RunRequestStatus.model_validate(body.get("status") or {}),
        )


@dataclass(frozen=True)
class Snapshot:
    """One ScheduledJob and everything a pass decides from, at one moment.

    ``template`` is the resolved JobTemplate (``None``: none of that name exists) and
    ``refusal`` its verdict on this job (namespace not allowed, params refused), computed
    by the caller because it is cached per spec and template. ``held`` names the finished
    Jobs whose final history row is not stored yet: they are the record and stay.
    """

    ref: ObjectRef
    created: datetime
    spec: ScheduledJobSpec | None
    compiled: CompiledSchedule | None = None
    error: AlmanacError | None = None
    generation: int = 1
    annotations: Mapping[str, str] = field(default_factory=dict)
    status: ScheduledJobStatus = field(default_factory=ScheduledJobStatus)
    jobs: Mapping[str, JobObservation] = field(default_factory=dict)
    requests: Mapping[str, StoredRequest] = field(default_factory=dict)
    messages: Mapping[str, str] = field(default_factory=dict)
    trigger_names: tuple[str, ...] = ()
    trigger_counts: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    buffered: datetime | None = None
    template: JobTemplateSpec | None = None
    refusal: AlmanacError | None = None
    held: frozenset[str] = frozenset()
    degraded: str | None = None
    event_record_window: timedelta = EVENT_RECORD_WINDOW
    #: The trigger consumer has handled every event sent up to this instant (``None``: no
    #: consumer runs): event runs due later wait (:func:`~.requestdecisions.waits_for_events`).
    events_read_to: datetime | None = None

    @property
    def running(self) -> list[JobObservation]:
        """The Jobs that have not finished."""
        return [j for j in self.jobs.values() if not j.finished]


#: The triggers of a slot's own run (on time or caught up).
SLOT_RUNS = frozenset({TriggerKind.SCHEDULE, TriggerKind.CATCHUP})


def slots_launched(s: Snapshot) -> tuple[int, frozenset[datetime]]:
    """Runs launched so far, and the slots past the last one status records whose Jobs
    exist. Status counts may lag the Jobs (a leader killed before its status write): up to
    the recorded slot the Jobs raise the count, past it every slot Job adds one, so a new
    leader never launches past ``maxRuns`` whichever slots its catch-up reaches."""
    counts = s.status.counts
    recorded = counts.launched if counts else 0
    last = s.status.last_schedule_time
    slots = {j.slot for j in s.jobs.values() if j.trigger in SLOT_RUNS}
    later = frozenset(x for x in slots if last is None or x > last)
    return max(recorded, len(slots - later)) + len(later), later
