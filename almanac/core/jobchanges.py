"""Which lifecycle events a ScheduledJob's change announces, as pure functions.

The operator's watch delivers bodies, not intentions: one write may suspend a job and
cancel it, a status write comes back as a new body that changed nothing a user did, and a
restart or a new leader sees every job again with no memory of the last body. So the
decision is made here, from two summaries of the object (:class:`JobFacts`, the last one
seen and the new one) and ``now``:

* ``created``: the first sight of a uid made within :data:`FIRST_SIGHT_WINDOW` before
  ``now``. A relist after a restart sees every job for the first time; those made earlier
  were announced by the process that saw them made (the rule's limit: a job made while no
  leader watched for longer than the window is never announced ``created``). Inside the
  window the announcement may repeat; its id is the same, so the outbox keeps one;
* ``cancelled``: the ``almanac.dev/cancelled`` annotation appears (or, at first sight,
  holds an instant inside the window). A cancelled job is also suspended: its suspension
  announces ``cancelled``, never ``paused``;
* ``paused``/``resumed``: ``spec.suspend`` turns true/false;
* ``updated``: the rest of the spec or the display name changed;
* ``deleted``: the watch reported the object gone.

A change seen between two bodies is keyed by the new body's ``resourceVersion`` (the
write that made it), so the same change gets the same id however often it is seen.
Changes made while no leader watched, other than creation and cancellation, are not
announced: nothing on the object says when they happened.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any, Final

from almanac.core.vocabulary import (
    ANNOTATION_CANCELLED,
    ANNOTATION_CREATED_BY,
    ANNOTATION_DISPLAY_NAME,
    ANNOTATION_SUSPEND_REASON,
    ANNOTATION_UPDATED_BY,
)

__all__ = [
    "FIRST_SIGHT_WINDOW",
    "JobAction",
    "JobChange",
    "JobFacts",
    "job_changes",
    "job_facts",
]

#: How old a job (or its cancellation) may be at first sight and still be announced: it
#: covers a failover (≤ 15 s) and a restart with room to spare, and stays far below the
#: outbox's retention, which is what turns the repeats inside it into one message.
FIRST_SIGHT_WINDOW: Final = timedelta(minutes=15)


class JobAction(StrEnum):
    """ScheduledJob lifecycle actions announced on the events topic (``almanac.job.*``)."""

    CREATED = "created"
    UPDATED = "updated"
    DELETED = "deleted"
    PAUSED = "paused"
    RESUMED = "resumed"
    CANCELLED = "cancelled"


@dataclass(frozen=True)
class JobFacts:
    """What the announcements read of one ScheduledJob body, and nothing else: kept per
    job between watch events, so it stays small (the spec is only a digest)."""

    namespace: str
    name: str
    uid: str
    resource_version: str
    generation: int
    created: datetime | None
    deleted: datetime | None
    suspended: bool
    #: The ``almanac.dev/cancelled`` annotation as written (an RFC 3339 instant).
    cancelled: str | None
    display_name: str | None
    created_by: str | None
    updated_by: str | None
    #: A digest of the spec without ``suspend`` (its own actions say when that changes).
    spec_digest: str
    #: Why it is suspended (``almanac.dev/suspend-reason``): a ``paused`` event says who
    #: or what paused the job, ``spec.pauseAfterFailures`` included.
    suspend_reason: str | None = None

    @property
    def cancelled_at(self) -> datetime | None:
        """The cancellation instant, when the annotation holds a readable aware one."""
        return _instant(self.cancelled)


@dataclass(frozen=True)
class JobChange:
    """One action to announce: the job as it is after it (as it was, for ``deleted``),
    the id part that names the change, and the instant the event carries."""

    action: JobAction
    facts: JobFacts
    key: str
    at: datetime

    @property
    def actor(self) -> str | None:
        """Who did it, as far as the object says: the creator for ``created``, the last
        writer through REST (``almanac.dev/updated-by``, else the creator) for a change.
        Kubernetes records no author of a deletion, so ``deleted`` names nobody."""
        facts = self.facts
        if self.action is JobAction.CREATED:
            return facts.created_by
        if self.action is JobAction.DELETED:
            return None
        return facts.updated_by or facts.created_by


def _text(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None


def _instant(value: Any) -> datetime | None:
    """An RFC 3339 instant, or ``None`` for anything else (never raises: watch input)."""
    if not isinstance(value, str) or not value:
        return None
    try:
        instant = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return instant if instant.tzinfo is not None else None


def _digest(spec: Mapping[str, Any]) -> str:
    rest = {k: v for k, v in spec.items() if k != "suspend"}
    text = json.dumps(rest, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(text.encode()).hexdigest()


def job_facts(body: Mapping[str, Any]) -> JobFacts | None:
    """The facts of a watched body; ``None`` when it names no namespace, name and uid
    (a malformed body is skipped, never raised on: bad input must not stop the watch)."""
    meta = body.get("metadata")
    if not isinstance(meta, Mapping):
        return None
    namespace, name, uid = (_text(meta.get(k)) for k in ("namespace", "name", "uid"))
    if namespace is None or name is None or uid is None:
        return None
    annotations = meta.get("annotations")
    notes: Mapping[str, Any] = annotations if isinstance(annotations, Mapping) else {}
    spec = body.get("spec")
    spec = spec if isinstance(spec, Mapping) else {}
    generation = meta.get("generation")
    return JobFacts(
        namespace=namespace,
        name=name,
        uid=uid,
        resource_version=str(meta.get("resourceVersion") or ""),
        generation=generation if isinstance(generation, int) else 0,
        created=_instant(meta.get("creationTimestamp")),
        deleted=_instant(meta.get("deletionTimestamp")),
        suspended=spec.get("suspend") is True,
        cancelled=_text(notes.get(ANNOTATION_CANCELLED)),
        display_name=_text(notes.get(ANNOTATION_DISPLAY_NAME)),
        created_by=_text(notes.get(ANNOTATION_CREATED_BY)),
        updated_by=_text(notes.get(ANNOTATION_UPDATED_BY)),
        spec_digest=_digest(spec),
        suspend_reason=_text(notes.get(ANNOTATION_SUSPEND_REASON)),
    )


def _recent(instant: datetime | None, now: datetime, window: timedelta) -> bool:
    return instant is not None and now - instant <= window


def _first_sight(new: JobFacts, now: datetime, window: timedelta) -> list[JobChange]:
    changes = []
    if _recent(new.created, now, window):
        assert new.created is not None
        changes.append(JobChange(JobAction.CREATED, new, "created", new.created))
    cancelled_at = new.cancelled_at
    if cancelled_at is not None and _recent(cancelled_at, now, window):
        changes.append(_cancelled(new, now))
    return changes


def _cancelled(new: JobFacts, now: datetime) -> JobChange:
    return JobChange(
        JobAction.CANCELLED, new, f"cancelled-{new.cancelled}", new.cancelled_at or now
    )


def _between(old: JobFacts, new: JobFacts, now: datetime) -> list[JobChange]:
    changes = []
    written = f"rv-{new.resource_version}"
    if new.cancelled is not None and new.cancelled != old.cancelled:
        changes.append(_cancelled(new, now))
    if new.suspended and not old.suspended and new.cancelled is None:
        changes.append(JobChange(JobAction.PAUSED, new, written, now))
    if old.suspended and not new.suspended:
        changes.append(JobChange(JobAction.RESUMED, new, written, now))
    if new.spec_digest != old.spec_digest or new.display_name != old.display_name:
        changes.append(JobChange(JobAction.UPDATED, new, written, now))
    return changes


def job_changes(
    old: JobFacts | None,
    new: JobFacts | None,
    now: datetime,
    *,
    window: timedelta = FIRST_SIGHT_WINDOW,
) -> tuple[JobChange, ...]:
    """The actions to announce when a job's last seen facts ``old`` become ``new``.

    ``old`` is ``None`` at the first sight of the uid by this process, ``new`` is ``None``
    when the watch reported the job deleted (``old`` is then its last facts). Created comes
    first, deleted alone; between two bodies, cancelled, paused, resumed, updated in that
    order (one write may make several).
    """
    if new is None:
        if old is None:
            return ()
        return (JobChange(JobAction.DELETED, old, "deleted", old.deleted or now),)
    if old is None:
        return tuple(_first_sight(new, now, window))
    return tuple(_between(old, new, now))
