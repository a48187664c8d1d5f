"""One notice, fanned out to a job's ``spec.notifications`` entries as deliveries. Pure.

Each entry gets at most one delivery per notice: for a run, the most specific outcome it
subscribes to (:func:`~almanac.core.notifyrules.pick_outcome`); a pause goes to the entries
hearing ``Failed``; a test to every entry. The delivery's id is stable
(:func:`~almanac.core.notifyrules.notice_id`), so the operator and a new leader enqueue the
same rows for the same decision, and the table stores them once.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace

from almanac.core.notifymodels import Notification, NotifyOn
from almanac.core.notifyrules import PAUSED, notice_id, pick_outcome
from almanac.notify.deliveries import Delivery
from almanac.notify.messages import TEST, Notice

__all__ = ["fan_out", "target_of"]


def target_of(entry: Notification) -> dict[str, object]:
    """The entry's target as stored with a delivery (Secret *references* only)."""
    target = entry.email or entry.webhook or entry.kafka
    assert target is not None
    return target.model_dump(mode="json", by_alias=True, exclude_none=True)


def _outcome(entry: Notification, notice: Notice, outcomes: Sequence[NotifyOn]) -> str | None:
    if notice.outcome == TEST:
        return TEST
    if notice.outcome == PAUSED:
        return PAUSED if NotifyOn.FAILED in entry.on else None
    picked = pick_outcome(entry, outcomes)
    return None if picked is None else picked.value


def fan_out(
    entries: Sequence[Notification],
    notice: Notice,
    outcomes: Sequence[NotifyOn] = (),
    *,
    subject: str | None = None,
) -> list[Delivery]:
    """The deliveries of ``notice`` (a run's with ``outcomes``, a pause, or a test) to the
    entries that hear it; ``subject`` is what the ids are derived from (default: the run)."""
    found = []
    for index, entry in enumerate(entries):
        outcome = _outcome(entry, notice, outcomes)
        if outcome is None:
            continue
        told = replace(notice, outcome=outcome)
        key = subject or notice.run or ""
        found.append(
            Delivery(
                delivery_id=notice_id(notice.scheduledjob_uid, key, outcome, index),
                namespace=notice.namespace,
                scheduledjob=notice.scheduledjob,
                scheduledjob_uid=notice.scheduledjob_uid,
                run_name=notice.run,
                entry=index,
                channel=entry.channel,
                target=target_of(entry),
                notice=told.to_json(),
            )
        )
    return found
