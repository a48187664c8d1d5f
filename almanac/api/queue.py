"""The organisation's launch queue over REST (``GET /queue``): its runs that a limit holds,
each with its place, the limit it waits for and its priority.

The queue lives in the API server as suspended Jobs marked ``almanac.dev/queued=true``
(:mod:`almanac.operator.dispatch`), so the facade reads it there, in the caller's
namespace only. A run's ``position`` is its place among the organisation's own queued
runs (1: the next of them to start): the order the operator releases them in within one
namespace (higher priority, then the oldest). Places among other organisations' runs
are not shown: how long another tenant's queue is is not the caller's to know.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

from pydantic import AwareDatetime, BaseModel, Field

from almanac.api.schemas import ListMeta
from almanac.core.vocabulary import (
    ANNOTATION_PRIORITY,
    ANNOTATION_QUEUED_REASON,
    ANNOTATION_SCHEDULED_TIME,
    LABEL_SCHEDULED_JOB_UID,
)

__all__ = ["QueueList", "QueuedRun", "queued_runs"]


class QueuedRun(BaseModel):
    """A run created but held by a limit: its Job exists, suspended, with no pod yet."""

    position: int = Field(ge=1, description="Its place among the organisation's queued runs.")
    run_id: str = Field(description="Run id (its Job name): `GET /executions/{run_id}`.")
    job_id: str = Field(description="Id of its job.")
    reason: str = Field(
        description="The limit it waits for: maxConcurrentRuns (the job's own `concurrency`), "
        "namespace, organisation, cluster (the operator's limits) or launchRate."
    )
    priority: int = Field(description="Its PriorityClass value (higher starts first).")
    queued_at: AwareDatetime = Field(description="When it joined the queue.")
    slot: AwareDatetime | None = Field(description="The instant it runs for.")


class QueueList(BaseModel):
    """One page of the organisation's queued runs, next first."""

    data: list[QueuedRun]
    meta: ListMeta


def _time(text: Any) -> datetime | None:
    if not isinstance(text, str) or not text:
        return None
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def _priority(text: Any) -> int:
    try:
        return int(text)
    except (TypeError, ValueError):
        return 0


def queued_runs(jobs: Sequence[Mapping[str, Any]]) -> list[QueuedRun]:
    """The queued runs among ``jobs`` (one namespace's Jobs), in release order."""
    found = []
    for job in jobs:
        meta = job.get("metadata") or {}
        notes = meta.get("annotations") or {}
        if not (job.get("spec") or {}).get("suspend") or ANNOTATION_QUEUED_REASON not in notes:
            continue
        queued_at = _time(meta.get("creationTimestamp")) or datetime.now(UTC)
        found.append(
            (
                -_priority(notes.get(ANNOTATION_PRIORITY)),
                queued_at,
                str(meta.get("name")),
                job,
            )
        )
    found.sort(key=lambda row: row[:3])
    return [
        QueuedRun(
            position=i,
            run_id=name,
            job_id=str(
                ((job.get("metadata") or {}).get("labels") or {}).get(LABEL_SCHEDULED_JOB_UID, "")
            ),
            reason=str(job["metadata"]["annotations"][ANNOTATION_QUEUED_REASON]),
            priority=-negative,
            queued_at=queued_at,
            slot=_time(job["metadata"]["annotations"].get(ANNOTATION_SCHEDULED_TIME)),
        )
        for i, (negative, queued_at, name, job) in enumerate(found, 1)
    ]
