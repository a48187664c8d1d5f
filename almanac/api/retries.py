"""What a retry through REST repeats: the finished run named by its id, found by its Job
or, once history limits pruned the Job, by its history row.

A retry is asked for as a RunRequest (kind ``retry``) named from the run, so it survives
restarts and any number queue side by side; the answer names the new attempt's run, which
follows from the request. A run an event started ran with that event's params and
payload, which only its RunRequest keeps (history does not): such a run is retried with
them, and refused when that request is gone rather than run without them.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from almanac.api.errors import ConflictError, NotFoundError
from almanac.api.kube import KubeFacade
from almanac.core.naming import claimed_owner
from almanac.core.runrequests import OWN_SOURCES, RunRequestSpec
from almanac.core.runs import FINISHED_PHASES, observe_job
from almanac.core.status import TriggerKind
from almanac.history.store import RunStore

__all__ = ["RetryTarget", "find_retry_target", "origin_of"]

_EVENT_RUNS = frozenset({TriggerKind.EVENT, TriggerKind.AFTER})


@dataclass(frozen=True)
class RetryTarget:
    """The finished run a retry repeats."""

    owner_uid: str
    run: str
    slot: datetime
    attempt: int
    #: The RunRequest it was launched from (unknown when only history has the run).
    request: str | None
    #: It ran with an event's params and payload (an event, a chain, or a retry of one).
    carried_event: bool


def _carried_event(trigger: TriggerKind, event_id: str | None) -> bool:
    if trigger in _EVENT_RUNS:
        return True
    return (
        trigger is TriggerKind.RETRY
        and event_id is not None
        and not event_id.startswith(OWN_SOURCES)
    )


def _unfinished(run: str) -> ConflictError:
    return ConflictError(f"run {run!r} has not finished; retry it once it has", "id")


async def find_retry_target(
    kube: KubeFacade, store: RunStore, namespace: str, run: str
) -> RetryTarget:
    """The run ``run`` of ``namespace``: 404 when neither a Job nor history has it, 409
    while it has not finished."""
    job = await kube.get_run_job(namespace, run)
    if job is not None:
        seen = observe_job(job)
        owner = claimed_owner(job["metadata"])
        if seen is None or owner is None:
            raise NotFoundError(f"no run {run!r}", "id")
        if not seen.finished:
            raise _unfinished(run)
        return RetryTarget(
            owner[1],
            run,
            seen.slot,
            seen.attempt,
            seen.request,
            _carried_event(seen.trigger, seen.event_id),
        )
    record = await store.find_run(namespace, run)
    if record is None:
        raise NotFoundError(f"no run {run!r}", "id")
    if record.phase not in FINISHED_PHASES:
        raise _unfinished(run)
    trigger = TriggerKind(record.trigger)
    return RetryTarget(
        record.scheduledjob_uid,
        run,
        record.slot,
        record.attempt,
        None,
        _carried_event(trigger, record.event_id),
    )


async def origin_of(kube: KubeFacade, namespace: str, target: RetryTarget) -> RunRequestSpec | None:
    """The spec of the request whose event the run carried (``None``: it carried none)."""
    if not target.carried_event:
        return None
    body = await kube.get_run_request(namespace, target.request) if target.request else None
    if body is None:
        raise ConflictError(
            f"run {target.run!r} ran with an event's params, which only its RunRequest kept, "
            "and that request is gone: publish the event again to run it once more",
            "id",
        )
    return RunRequestSpec.model_validate(body.get("spec") or {})
