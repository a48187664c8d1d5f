"""The dead letters' JSON: one letter, a page of them, and a requeue's answer."""

from __future__ import annotations

from typing import Literal

from pydantic import AwareDatetime, BaseModel, Field

from almanac.api.schemas import ListMeta
from almanac.history.deadletters import DeadLetter, LetterKind

__all__ = ["DeadLetterList", "DeadLetterView", "RequeueAccepted", "letter_view"]


class DeadLetterView(BaseModel):
    """A run that failed with no retry left, or a trigger event refused for good."""

    id: int = Field(description="Dead letter id.")
    kind: Literal["run", "event"] = Field(
        description="run: a run that exhausted its retries; event: a trigger event refused."
    )
    job_id: str = Field(description="Id of the job it was for.")
    job_resource_name: str = Field(description="The ScheduledJob's object name.")
    run_id: str | None = Field(description="The dead run (kind run).")
    event_id: str | None = Field(description="The refused event's id (kind event).")
    topic: str | None = Field(description="The topic the event came from (kind event).")
    value: str | None = Field(
        description="The event as it was sent (kind event; its first 64 KiB)."
    )
    reason: str = Field(description="The run's last error, or why the event was refused.")
    dead_lettered_at: AwareDatetime = Field(description="When it was parked.")
    status: Literal["waiting", "requeued"] = Field(description="requeued once requeued.")
    requeued_at: AwareDatetime | None = Field(description="When it was requeued.")
    requeued_run_id: str | None = Field(
        description="The run the requeue asked for (GET /executions/{run_id})."
    )


class DeadLetterList(BaseModel):
    """One page of dead letters, newest first."""

    data: list[DeadLetterView]
    meta: ListMeta


class RequeueAccepted(BaseModel):
    """A dead run was asked to run once more (as a retry: one more attempt of its slot,
    with the job's current spec); requeueing it again answers the same run."""

    id: int = Field(description="The dead letter.")
    job_id: str
    run_id: str = Field(description="The dead run.")
    requeued_run_id: str = Field(description="The new attempt's run.")
    status: Literal["accepted"] = "accepted"


def letter_view(letter: DeadLetter) -> DeadLetterView:
    """The JSON of a stored letter."""
    assert letter.id is not None  # a stored letter has its id
    run = letter.kind is LetterKind.RUN
    return DeadLetterView(
        id=letter.id,
        kind=letter.kind.value,
        job_id=letter.scheduledjob_uid,
        job_resource_name=letter.scheduledjob,
        run_id=letter.subject if run else None,
        event_id=None if run else letter.subject,
        topic=letter.topic,
        value=letter.value,
        reason=letter.reason,
        dead_lettered_at=letter.at,
        status="requeued" if letter.requeued_run else "waiting",
        requeued_at=letter.requeued_at,
        requeued_run_id=letter.requeued_run,
    )
