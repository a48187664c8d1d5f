"""Deterministic run (Job) names, labels and annotations.

Exactly-once per slot rests on these names: a run's Job name is a pure function of
(ScheduledJob name and uid, slot, trigger, discriminator, attempt), so creating it twice
fails with AlreadyExists instead of running twice, across restarts and leader changes.

Format: ``<name>-<slot UTC yyyymmddhhmm[ss]>[-<trigger initial><n>][-a<attempt>]``.
``schedule`` and ``catchup`` runs of one slot share the name (no trigger part): a slot
launched by the old leader and "caught up" by the new one must collide. Trigger initials are
``m`` manual, ``r`` retry, ``e`` event, ``b`` backfill and ``f`` for ``after`` ("follows"):
``a`` would make ``-a2`` mean both "after #2" and "attempt 2". When the name does
not fit 63 characters, or had to be changed to be a DNS-1123 label, the ScheduledJob part is
truncated and an 8-hex hash of (uid, name, slot, trigger, n, attempt) keeps it unique; so no
valid ScheduledJob name (up to 253 characters) is ever refused.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Final

from almanac.core.errors import InvalidNameError
from almanac.core.models import API_VERSION
from almanac.core.status import TriggerKind
from almanac.core.vocabulary import (
    ANNOTATION_SCHEDULED_TIME,
    LABEL_ATTEMPT,
    LABEL_SCHEDULED_JOB,
    LABEL_SCHEDULED_JOB_UID,
    LABEL_SLOT,
    LABEL_TRIGGER,
)

__all__ = [
    "ANNOTATION_SCHEDULED_TIME",
    "LABEL_ATTEMPT",
    "LABEL_SCHEDULED_JOB",
    "LABEL_SCHEDULED_JOB_UID",
    "LABEL_SLOT",
    "LABEL_TRIGGER",
    "MAX_RUN_NAME",
    "claimed_owner",
    "controller_reference",
    "rfc3339_utc",
    "run_annotations",
    "run_labels",
    "run_name",
    "validate_object_name",
]

MAX_RUN_NAME: Final = 63

_OWNER_KIND: Final = "ScheduledJob"
_SUBDOMAIN: Final = re.compile(r"[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*")
_HASH_LEN: Final = 8
_MAX_COUNTER: Final = 999_999  # keeps the suffix ≤ 31 characters
_SAME_AS_SLOT: Final = frozenset({TriggerKind.SCHEDULE, TriggerKind.CATCHUP})
_INITIAL: Final = {
    TriggerKind.MANUAL: "m",
    TriggerKind.RETRY: "r",
    TriggerKind.EVENT: "e",
    TriggerKind.AFTER: "f",
    TriggerKind.BACKFILL: "b",
}


def validate_object_name(name: str, field: str = "metadata.name") -> str:
    """Return ``name`` if it is a valid DNS-1123 subdomain (≤ 253), else raise.

    Raises
    ------
    InvalidNameError
        Empty, too long, upper case, or characters outside ``a-z 0-9 - .``.
    """
    if not name or len(name) > 253 or _SUBDOMAIN.fullmatch(name) is None:
        raise InvalidNameError(
            f"{name!r} is not a valid Kubernetes name; use at most 253 lower-case letters, "
            "digits, '-' and '.', starting and ending with a letter or digit",
            field,
        )
    return name


def _slot_text(slot: datetime) -> str:
    utc = slot.astimezone(UTC)
    text = utc.strftime("%Y%m%d%H%M")
    return text + utc.strftime("%S") if utc.second or utc.microsecond else text


def run_name(
    scheduled_job: str,
    uid: str,
    slot: datetime,
    *,
    trigger: TriggerKind = TriggerKind.SCHEDULE,
    attempt: int = 1,
    n: int = 1,
) -> str:
    """Deterministic Job name of one run (≤ 63 characters, a DNS-1123 label).

    Parameters
    ----------
    scheduled_job, uid
        Name and ``metadata.uid`` of the ScheduledJob.
    slot
        Slot (or request instant for manual/event runs); seconds appear only if non-zero.
        Sub-second parts do not appear in the name but do go into the hash.
    trigger
        Why the run exists; ``schedule`` and ``catchup`` add nothing to the name.
    attempt
        Attempt number from 1; ``-a<attempt>`` is added when above 1.
    n
        Discriminator of several runs of one trigger at one slot (manual, event, ...).
    """
    validate_object_name(scheduled_job)
    if slot.tzinfo is None:
        raise InvalidNameError("slot must be an aware datetime", "slot")
    if not 1 <= attempt <= _MAX_COUNTER or not 0 <= n <= _MAX_COUNTER:
        raise InvalidNameError(
            f"attempt must be in 1..{_MAX_COUNTER} and n in 0..{_MAX_COUNTER}", "attempt"
        )
    suffix = "-" + _slot_text(slot)
    if trigger not in _SAME_AS_SLOT:
        suffix += f"-{_INITIAL[trigger]}{n}"
    if attempt > 1:
        suffix += f"-a{attempt}"
    base = scheduled_job.replace(".", "-")
    exact = base == scheduled_job and slot.microsecond == 0
    if exact and len(base) + len(suffix) <= MAX_RUN_NAME:
        return base + suffix
    # A slot's run is one run whether launched on time or caught up (a new leader may
    # catch up a slot the old one launched): the hash, like the exact name, says so.
    same = trigger in _SAME_AS_SLOT
    kind, n_text = (TriggerKind.SCHEDULE.value, "1") if same else (trigger.value, str(n))
    key = "/".join(
        [uid, scheduled_job, slot.astimezone(UTC).isoformat(), kind, n_text, str(attempt)]
    )
    digest = hashlib.sha256(key.encode()).hexdigest()[:_HASH_LEN]
    room = MAX_RUN_NAME - len(suffix) - _HASH_LEN - 1
    prefix = base[:room].rstrip("-")
    return f"{prefix}-{digest}{suffix}" if prefix else f"{digest}{suffix}"


def run_labels(
    scheduled_job: str, uid: str, slot: datetime, *, trigger: TriggerKind, attempt: int
) -> Mapping[str, str]:
    """Labels of a run's Job (and pod), as contracts.md lists them.

    The ScheduledJob name label is truncated to 63 characters (label value limit); the uid
    label is the one to select by.
    """
    return {
        LABEL_SCHEDULED_JOB: scheduled_job[:63].rstrip("-."),
        LABEL_SCHEDULED_JOB_UID: uid,
        LABEL_SLOT: str(int(slot.timestamp())),
        LABEL_TRIGGER: trigger.value,
        LABEL_ATTEMPT: str(attempt),
    }


def rfc3339_utc(instant: datetime) -> str:
    """An instant as RFC 3339 in UTC with a ``Z`` (labels, annotations, status)."""
    return instant.astimezone(UTC).isoformat().replace("+00:00", "Z")


def run_annotations(slot: datetime) -> Mapping[str, str]:
    """Annotations of a run's Job: the slot as RFC 3339 UTC."""
    return {ANNOTATION_SCHEDULED_TIME: rfc3339_utc(slot)}


def controller_reference(name: str, uid: str) -> dict[str, object]:
    """The owner reference a run's Job or RunRequest carries: its ScheduledJob controls it
    (garbage collection deletes it with the ScheduledJob; see :func:`claimed_owner`)."""
    return {
        "apiVersion": API_VERSION,
        "kind": _OWNER_KIND,
        "name": name,
        "uid": uid,
        "controller": True,
        "blockOwnerDeletion": True,
    }


def claimed_owner(meta: Mapping[str, object]) -> tuple[str, str] | None:
    """``(namespace, uid)`` of the ScheduledJob a Job or RunRequest belongs to, or ``None``.

    Ownership is checked, not assumed from a label anyone can write: the object's
    ``almanac.dev/scheduledjob-uid`` label must name the uid of its controller owner
    reference of kind ScheduledJob. The namespace goes with it because an owner reference
    only means something inside one namespace: the caller matches both, so a RunRequest
    forged in another tenant's namespace with a victim's uid belongs to nothing.
    """
    labels = meta.get("labels")
    refs = meta.get("ownerReferences")
    namespace = meta.get("namespace")
    if not isinstance(labels, Mapping) or not isinstance(refs, list) or not namespace:
        return None
    uid = labels.get(LABEL_SCHEDULED_JOB_UID)
    controllers = [r for r in refs if isinstance(r, Mapping) and r.get("controller") is True]
    if (
        not uid
        or len(controllers) != 1
        or controllers[0].get("kind") != _OWNER_KIND
        or controllers[0].get("uid") != uid
    ):
        return None
    return str(namespace), str(uid)
