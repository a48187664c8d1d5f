"""A run's state: its phase, refined by what the history marks on a row.

Kubernetes knows five ways a Job ends; a reader of the history wants two more, both
failures: a run ended at its deadline (``Timeout``) and a run that exhausted its retries
and waits in the dead letters (``DeadLettered``). The phase stays ``Failed`` (so every
rule written on phases — merging, stats' ``failed``, notifications — holds) and the state
is derived from it and the row's marks, once here in Python and once in SQL
(:data:`STATE_SQL`), so a filter on the state selects what the row shows. Likewise a
pending run held by a limit (its Job suspended in the launch queue) is ``Queued``: its
phase stays ``Pending`` and its reason says which limit (``queued:namespace``).
"""

from __future__ import annotations

from enum import StrEnum
from typing import Final

from almanac.core.status import RunPhase
from almanac.history.records import QUEUED_REASON, TIMEOUT_REASON, RunRecord

__all__ = ["LAUNCHED", "STATE_SQL", "RunState", "state_of"]


class RunState(StrEnum):
    """The phases, plus two kinds of failure (values as the phases spell them)."""

    QUEUED = "Queued"
    PENDING = "Pending"
    RUNNING = "Running"
    SUCCEEDED = "Succeeded"
    FAILED = "Failed"
    TIMEOUT = "Timeout"
    DEAD_LETTERED = "DeadLettered"
    SKIPPED = "Skipped"
    CANCELLED = "Cancelled"


#: Every state but ``Skipped``: the runs that were launched (a job's last execution).
LAUNCHED: Final = tuple(state for state in RunState if state is not RunState.SKIPPED)

#: :func:`state_of` in SQL over a ``job_runs`` row. A dead-lettered run that also timed
#: out is ``DeadLettered``: what a reader can act on (requeue it) comes first.
STATE_SQL: Final = (
    "(CASE WHEN status = 'Failed' AND dead_lettered_at IS NOT NULL THEN 'DeadLettered'"
    f" WHEN status = 'Failed' AND reason = '{TIMEOUT_REASON}' THEN 'Timeout'"
    f" WHEN status = 'Pending' AND starts_with(reason, '{QUEUED_REASON}') THEN 'Queued'"
    " ELSE status END)"
)


def state_of(record: RunRecord) -> RunState:
    """The state ``record`` is in (see :data:`STATE_SQL`)."""
    if record.phase is RunPhase.FAILED:
        if record.dead_lettered_at is not None:
            return RunState.DEAD_LETTERED
        if record.reason == TIMEOUT_REASON:
            return RunState.TIMEOUT
    if record.phase is RunPhase.PENDING and (record.reason or "").startswith(QUEUED_REASON):
        return RunState.QUEUED
    return RunState(record.phase.value)
