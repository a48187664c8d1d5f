"""Whole objects (``ScheduledJob`` manifests) and the validation boundary.

``model_validate`` is called here and only here: pydantic's errors become one
:class:`~almanac.core.errors.InvalidSpecError` whose problems carry full field paths
(``spec.schedule.cron[1]``) and say how to fix the input, the shape every edge reports.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Literal, TypeVar

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, ValidationError
from pydantic_core import ErrorDetails

from almanac.core.base import SpecModel
from almanac.core.errors import (
    AlmanacError,
    InvalidInputError,
    InvalidSpecError,
    NaiveDatetimeError,
)
from almanac.core.models import Schedule, ScheduledJobSpec
from almanac.core.status import ScheduledJobStatus

__all__ = [
    "ObjectMeta",
    "ScheduledJob",
    "format_location",
    "parse_schedule",
    "parse_scheduled_job",
    "parse_spec",
    "validate_model",
]

M = TypeVar("M", bound=BaseModel)

_HINTS = {
    "extra_forbidden": "unknown field; remove it or fix its spelling (keys are camelCase)",
    "missing": "is required; add it",
    "timezone_aware": "has no UTC offset; write an RFC 3339 instant with Z or +hh:mm",
}


class ObjectMeta(BaseModel):
    """The parts of ``metadata`` the core reads; everything else is kept as is."""

    model_config = ConfigDict(extra="allow", frozen=True, populate_by_name=True)

    name: str = Field(description="Object name.")
    namespace: str | None = Field(None, description="Namespace.")
    uid: str | None = Field(None, description="Unique id assigned by the API server.")
    generation: int | None = Field(None, description="Spec generation.")
    creation_timestamp: AwareDatetime | None = Field(
        None, alias="creationTimestamp", description="Creation instant."
    )
    labels: dict[str, str] | None = Field(None, description="Labels.")
    annotations: dict[str, str] | None = Field(None, description="Annotations.")


class ScheduledJob(SpecModel):
    """A whole ScheduledJob manifest (as read from a file or the API)."""

    model_config = SpecModel.model_config | {"extra": "ignore"}

    api_version: Literal["almanac.dev/v1alpha1"] = Field(
        "almanac.dev/v1alpha1", description="API group and version."
    )
    kind: Literal["ScheduledJob"] = Field("ScheduledJob", description="ScheduledJob")
    metadata: ObjectMeta = Field(description="Object metadata.")
    spec: ScheduledJobSpec = Field(description="Desired behaviour.")
    status: ScheduledJobStatus | None = Field(None, description="Observed state.")


def format_location(loc: tuple[int | str, ...], prefix: str = "") -> str:
    """Render a pydantic location as a field path: ``('cron', 1)`` → ``cron[1]``."""
    path = prefix
    for part in loc:
        if isinstance(part, int):
            path += f"[{part}]"
        elif str(part).startswith(("function-after", "function-")):
            continue
        else:
            path = f"{path}.{part}" if path else str(part)
    return path


def _is_branch_tag(part: str) -> bool:
    """Whether a location part names a union branch or validator, not a field."""
    return "[" in part or part in {"str", "int", "float", "bool", "list", "dict"}


def _problem(error: ErrorDetails, prefix: str) -> InvalidInputError:
    # Union branches add their type name (``str``, ``list[str]``) to the location.
    loc = tuple(p for p in error["loc"] if not (isinstance(p, str) and _is_branch_tag(p)))
    path = format_location(loc, prefix)
    cause = (error.get("ctx") or {}).get("error")
    if isinstance(cause, AlmanacError) and isinstance(cause, InvalidInputError):
        sub = cause.field
        if sub and not sub.startswith((".", "[")):
            return cause
        full = f"{path}{sub}" if path else sub.lstrip(".")
        return cause.with_field(full)
    if error["type"] == "timezone_aware":
        return NaiveDatetimeError(_HINTS["timezone_aware"], path)
    hint = _HINTS.get(error["type"], str(error["msg"]))
    return InvalidInputError(hint, path)


def validate_model(model: type[M], data: Any, prefix: str) -> M:
    """Validate ``data`` as ``model``, raising :class:`InvalidSpecError` on any problem.

    Parameters
    ----------
    prefix
        Path of ``data`` inside the object (``spec``), prepended to every field path.
    """
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise InvalidSpecError([_problem(e, prefix) for e in exc.errors()]) from None


def parse_spec(data: Mapping[str, Any]) -> ScheduledJobSpec:
    """Validate a ``spec`` mapping (the boundary used by admission and the operator)."""
    return validate_model(ScheduledJobSpec, data, "spec")


def parse_schedule(data: Mapping[str, Any]) -> Schedule:
    """Validate a ``spec.schedule`` mapping on its own (used by ``preview``)."""
    return validate_model(Schedule, data, "spec.schedule")


def parse_scheduled_job(data: Mapping[str, Any]) -> ScheduledJob:
    """Validate a whole ScheduledJob manifest."""
    if not isinstance(data, Mapping):
        raise InvalidSpecError([InvalidInputError("expected a ScheduledJob mapping", "")])
    return validate_model(ScheduledJob, data, "")
