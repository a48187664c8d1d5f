"""What a reconcile pass asks the operator to do, as plain values.

:func:`almanac.core.reconcile.reconcile` returns these in the order they are to be carried
out; the operator's shell executes them (the only place that talks to the API server) and
tests compare them with the expected list. Names of Jobs are already decided here: every
Job name is deterministic, which is what makes a repeated action harmless.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from almanac.core.decisions import SkipReason
from almanac.core.notifymodels import NotifyOn
from almanac.core.runrequests import RequestPhase, RunRequestSpec
from almanac.core.runs import JobObservation, RunRequest
from almanac.core.vocabulary import EventReason

__all__ = [
    "Action",
    "AskRun",
    "CountSkip",
    "CountTrigger",
    "CreateJob",
    "DeleteJob",
    "KeepJob",
    "LaunchRequest",
    "Notify",
    "PassResult",
    "PostEvent",
    "SettleRequest",
    "SuspendJob",
]


@dataclass(frozen=True)
class CreateJob:
    """Create the Job of ``run`` (named ``job``); ``reason`` is its Event's reason.

    A Job that already exists counts as created: it is this run, made by an earlier pass
    or an earlier leader (one run per slot).
    """

    job: str
    run: RunRequest
    reason: EventReason = EventReason.LAUNCHED


@dataclass(frozen=True)
class LaunchRequest:
    """Launch the pending RunRequest ``request`` as ``run``, then mark it Launched.

    Carried out only if the request is still Pending when its turn comes: the launch on
    acceptance may have taken it meanwhile. ``trigger`` (a trigger's name, "" for a
    backfill) has its ``launched`` counter bumped once the Job is created.
    """

    request: str
    job: str
    run: RunRequest
    reason: EventReason
    trigger: str = ""


@dataclass(frozen=True)
class DeleteJob:
    """Delete Job ``job``: replaced by a newer slot (``cancelled`` is its history row,
    phase Cancelled) or beyond the history limits (``pruned``)."""

    job: str
    cancelled: JobObservation | None = None
    pruned: bool = False


@dataclass(frozen=True)
class KeepJob:
    """Job ``job`` is due for pruning but its final history row is not stored: it stays,
    and the operator makes sure that row is queued."""

    job: str


@dataclass(frozen=True)
class SettleRequest:
    """Move RunRequest ``request`` out of Pending (Skipped, Failed) with ``message``."""

    request: str
    phase: RequestPhase
    message: str


@dataclass(frozen=True)
class PostEvent:
    """A Kubernetes Event on the ScheduledJob."""

    reason: EventReason
    message: str


@dataclass(frozen=True)
class SuspendJob:
    """Suspend the ScheduledJob (``spec.pauseAfterFailures`` reached): ``spec.suspend:
    true`` and ``reason`` as its ``almanac.dev/suspend-reason``, then an Event. The only
    spec write the operator makes; ``counted_to`` (the newest run the streak counted)
    names the streak, so the shell asks once per streak even when passes repeat it."""

    reason: str
    counted_to: str


@dataclass(frozen=True)
class Notify:
    """Tell the people ``spec.notifications`` names: run ``run`` ended with ``outcomes``
    (most specific first, :func:`~almanac.core.notifyrules.run_outcomes`; ``observed`` is
    its Job as the pass saw it), or, with ``paused`` (the reason), the job was paused
    after that run. Decided once per run (the streak's mark); the shell sends it."""

    run: str
    outcomes: tuple[NotifyOn, ...] = ()
    observed: JobObservation | None = None
    paused: str | None = None


@dataclass(frozen=True)
class CountTrigger:
    """One outcome of trigger ``trigger`` (status counter and metric)."""

    trigger: str
    outcome: str
    error: str | None = None


@dataclass(frozen=True)
class CountSkip:
    """``count`` slots skipped for ``reason`` (the skipped-slots metric); ``slots`` are the
    newest of them (at most :data:`~almanac.core.plan.SKIPPED_ROWS_PER_PASS`), which the
    history keeps as rows of phase Skipped with the reason."""

    reason: SkipReason
    count: int = 1
    slots: tuple[datetime, ...] = ()


@dataclass(frozen=True)
class AskRun:
    """Store a RunRequest (``request`` its name): a run asked for by annotation that waits
    its turn like the facade's (a backfill's slots, under the overlap policy)."""

    request: str
    spec: RunRequestSpec


Action = (
    AskRun
    | CreateJob
    | LaunchRequest
    | DeleteJob
    | KeepJob
    | SettleRequest
    | PostEvent
    | CountTrigger
    | CountSkip
    | SuspendJob
    | Notify
)


@dataclass(frozen=True)
class PassResult:
    """A pass's outcome: the actions in order, the status to write, the earliest instant
    the job needs another pass (``None``: only a change wakes it), and the BufferOne slot
    held in memory after it."""

    actions: tuple[Action, ...]
    status: dict[str, Any]
    wake: datetime | None = None
    buffered: datetime | None = None
