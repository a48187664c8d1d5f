"""What a due RunRequest becomes: skipped while suspended, failed when the template
refuses its params, else launched. One rule for the reconcile pass and for the operator's
launch on acceptance, so both paths decide alike."""

from __future__ import annotations

from datetime import datetime, timedelta

from almanac.core.actions import Action, CountTrigger, LaunchRequest, PostEvent, SettleRequest
from almanac.core.errors import AlmanacError
from almanac.core.params import validate_params
from almanac.core.runrequests import ASKED_BY_HAND, RequestPhase, launch_of
from almanac.core.runs import job_name_of, run_params
from almanac.core.snapshot import Snapshot, StoredRequest
from almanac.core.vocabulary import EventReason

__all__ = ["EVENTS_READ_RECHECK", "request_actions", "waits_for_events"]

#: How soon a pass looks again at an event run held back by :func:`waits_for_events`.
EVENTS_READ_RECHECK = timedelta(milliseconds=250)

#: The Event a launched request posts, by its kind (events and chains: Triggered).
_REASONS = {
    "manual": EventReason.RUN_NOW,
    "backfill": EventReason.BACKFILLED,
    "retry": EventReason.RETRYING,
}


def waits_for_events(stored: StoredRequest, read_to: datetime | None) -> bool:
    """Whether a due event run must wait because the trigger consumer has not handled
    every event up to its due time (``read_to``; ``None``: no consumer runs).

    An event sent before the due time but read after it (the consumer was behind: a
    leader change, Kafka away) may cancel the run (``cancelOn``): a step launched the
    moment its overdue request was written ran although its cancel was already on the
    topic (the chaos suite caught it). So the run waits until the consumer has read past
    its due time; the cancel, if there is one, is handled by then (invariant
    cancel-before-due)."""
    return stored.spec.kind == "event" and read_to is not None and stored.spec.due_time > read_to


def request_actions(s: Snapshot, stored: StoredRequest) -> list[Action]:
    """What one due RunRequest becomes: skipped while suspended (but a run-now or a retry,
    asked for explicitly, runs as the run-now and retry annotations do), failed when the template
    refuses its params (with the trigger's failure counted and an Event), else launched.
    Also used by the operator's launch on acceptance, so both paths decide alike."""
    assert s.spec is not None
    assert s.template is not None
    run = launch_of(stored.name, stored.spec)
    if s.spec.suspend and stored.spec.kind not in ASKED_BY_HAND:
        return [SettleRequest(stored.name, RequestPhase.SKIPPED, "suspended at the due time")]
    try:
        validate_params(run_params(s.spec, run), s.template.params_schema)
    except AlmanacError as exc:
        why = f"params refused: {exc}"
        counted = [CountTrigger(stored.spec.trigger, "failed", why)] if stored.spec.trigger else []
        return [
            *counted,
            SettleRequest(stored.name, RequestPhase.FAILED, why),
            PostEvent(EventReason.TRIGGER_FAILED, f"request {stored.name}: {why}"),
        ]
    return [
        LaunchRequest(
            request=stored.name,
            job=job_name_of(s.ref.name, s.ref.uid, run),
            run=run,
            reason=_REASONS.get(stored.spec.kind, EventReason.TRIGGERED),
            trigger=stored.spec.trigger,
        )
    ]
