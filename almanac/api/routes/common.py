"""What every route documents: the error responses, with the one error body."""

from __future__ import annotations

from typing import Annotated, Any, Final

from fastapi import Query

from almanac.api.schemas import ErrorBody

__all__ = ["ERRORS", "Limit", "Offset"]

_WHY: Final = {
    400: "Invalid request: body, query, or a malformed identity header.",
    401: "Missing identity header.",
    403: "The identity may not act on this organisation.",
    404: "No such job, run or template in the caller's organisation.",
    409: "Conflict: already in that state, or changed concurrently.",
    503: "Kubernetes or Postgres did not answer.",
}
ERRORS: Final[dict[int | str, dict[str, Any]]] = {
    code: {"model": ErrorBody, "description": why} for code, why in _WHY.items()
}

Limit = Annotated[int, Query(ge=1, le=500, description="Page size (default 50, max 500).")]
Offset = Annotated[int, Query(ge=0, le=1_000_000, description="Items to skip.")]
