"""Bodies of the job actions (pause, run now, retry, backfill): what a caller may send
with each and what the facade answers once the operator has been asked."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import AwareDatetime, BaseModel, Field, StringConstraints

from almanac.api.schemas import RequestBody

__all__ = [
    "BackfillAccepted",
    "BackfillRequest",
    "PauseRequest",
    "RetryAccepted",
    "RunNowAccepted",
    "RunNowRequest",
]


class PauseRequest(RequestBody):
    """Optional body of POST /jobs/{id}/pause."""

    reason: Annotated[str, StringConstraints(max_length=1024)] | None = Field(
        None, description="Shown in the job's Ready condition while paused."
    )


class RunNowRequest(RequestBody):
    """Optional body of POST /jobs/{id}/run."""

    payload: dict[str, Any] | None = Field(
        None,
        description="Parameters over the job's payload for this run only, checked by the "
        "type's schema like the job's own (e.g. a report's date).",
    )


class RunNowAccepted(BaseModel):
    """A manual run was requested; the operator launches it once per key."""

    job_id: str
    run_id: str = Field(description="The run it starts (listed under the job once launched).")
    idempotency_key: str
    status: Literal["accepted"] = "accepted"


class RetryAccepted(BaseModel):
    """A new attempt of a finished run was requested; asking again for the same run
    answers the same attempt (retry that attempt's run for another)."""

    run_id: str = Field(description="The run retried.")
    job_id: str
    retry_run_id: str = Field(
        description="The new attempt's run (listed under the job once launched)."
    )
    status: Literal["accepted"] = "accepted"


class BackfillRequest(RequestBody):
    """Run every slot of the job's schedule in ``[start, end]`` now."""

    start: AwareDatetime = Field(description="First instant (inclusive), RFC 3339 with offset.")
    end: AwareDatetime = Field(description="Last instant (inclusive).")


class BackfillAccepted(BaseModel):
    """The runs created for a backfill (existing ones are not created twice)."""

    job_id: str
    runs: list[str] = Field(description="Run ids (Job names), one per slot.")
    created: int = Field(description="How many were new.")
