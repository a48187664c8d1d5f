"""A job's Kubernetes Events over REST (``GET /jobs/{job_id}/events``): what the operator
(and anyone else) reported about the ScheduledJob, newest first. Pure.

The API server keeps Events for a while (an hour by default) and cannot sort them, so the
facade reads the job's Events in its namespace (a field selector on the involved object's
uid: a deleted job's namesake never lends it its Events) and orders and bounds them here.
Two writers shape an Event differently: core/v1 writers (the operator, kubectl) set
``firstTimestamp``, ``lastTimestamp``, ``count`` and ``source``; events.k8s.io/v1 writers
set ``eventTime``, ``series`` and ``reportingComponent`` (``reportingController`` in that
API). :func:`event_view` reads either, so a caller sees one shape.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from typing import Any, Final

from pydantic import AwareDatetime, BaseModel, Field

__all__ = [
    "EVENTS_SHOWN",
    "MAX_EVENTS",
    "KubernetesEvent",
    "KubernetesEventList",
    "event_view",
    "events_view",
]

#: Events answered by default (the newest); ``limit`` may ask for up to :data:`MAX_EVENTS`.
EVENTS_SHOWN: Final = 50
MAX_EVENTS: Final = 200
_EPOCH: Final = datetime(1970, 1, 1, tzinfo=UTC)


class KubernetesEvent(BaseModel):
    """One Kubernetes Event about the job, as ``kubectl describe sj`` lists it."""

    type: str = Field(description="Normal or Warning.")
    reason: str = Field(
        description="Why, in a word (the operator's: Launched, Skipped, Succeeded, Failed, "
        "RunNow, Queued, PausedAfterFailures...)."
    )
    message: str = Field(description="What happened, in a sentence.")
    count: int = Field(ge=1, description="How many times it happened (from first to last seen).")
    first_seen: AwareDatetime | None = Field(description="When it first happened.")
    last_seen: AwareDatetime | None = Field(description="When it last happened.")
    source: str | None = Field(
        description="Who reported it: `source.component`, or the reporting controller of an "
        "events.k8s.io Event (the operator's is almanac-operator)."
    )


class KubernetesEventList(BaseModel):
    """The job's Events the API server still keeps, newest first."""

    data: list[KubernetesEvent]
    truncated: bool = Field(description="Older Events were left out (more than `limit`).")


def _time(value: Any) -> datetime | None:
    """An Event's timestamp (RFC 3339, ``Z`` or offset, micro-time or not), else None."""
    if not isinstance(value, str) or not value:
        return None
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed if parsed.tzinfo is not None else parsed.replace(tzinfo=UTC)


def _count(*values: Any) -> int:
    return next((v for v in values if isinstance(v, int) and v >= 1), 1)


def event_view(event: Mapping[str, Any]) -> KubernetesEvent:
    """One Event (core/v1 JSON, as either API's writers leave it) in the REST shape."""
    series = event.get("series") or {}
    created = _time((event.get("metadata") or {}).get("creationTimestamp"))
    first = _time(event.get("firstTimestamp")) or _time(event.get("eventTime")) or created
    last = (
        _time(event.get("lastTimestamp"))
        or _time(series.get("lastObservedTime"))
        or _time(event.get("eventTime"))
        or first
    )
    source = (event.get("source") or {}).get("component") or event.get("reportingComponent")
    return KubernetesEvent(
        type=str(event.get("type") or "Normal"),
        reason=str(event.get("reason") or ""),
        message=str(event.get("message") or ""),
        count=_count(event.get("count"), series.get("count")),
        first_seen=first,
        last_seen=last,
        source=str(source) if source else None,
    )


def events_view(events: Iterable[Mapping[str, Any]], limit: int) -> KubernetesEventList:
    """The newest ``limit`` of ``events`` (last seen, then first seen, newest first; an
    Event without any time last)."""
    views = [event_view(e) for e in events]
    views.sort(key=lambda v: (v.last_seen or _EPOCH, v.first_seen or _EPOCH), reverse=True)
    return KubernetesEventList(data=views[:limit], truncated=len(views) > limit)
