"""Errors of the REST facade and the one place they become HTTP responses.

Every refusal is a JSON body ``{"errors": [{"field", "message", "code"}]}`` naming the
offending field (a body key such as ``schedule`` or ``payload.url``, a query parameter, or
the ``x-rh-identity`` header) so a caller can fix its request without reading logs. An
error may also carry response headers (:meth:`ApiError.headers`): every 503 says when to
come back with ``Retry-After``, so clients and gateways back off instead of hammering an
upstream that is down.

Hierarchy::

    AlmanacError (almanac.core.errors)
    └── ApiError                      status 500, code: api_error
        ├── BadRequestError           400, code: bad_request
        ├── UnauthenticatedError      401, code: unauthenticated
        ├── ForbiddenError            403, code: forbidden
        ├── NotFoundError             404, code: not_found
        ├── ConflictError             409, code: conflict
        ├── PayloadTooLargeError      413, code: too_large
        ├── TooManyRequestsError      429, code: limit_exceeded
        └── UpstreamError             503, code: upstream_unavailable
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any, ClassVar, Final

from almanac.core.errors import AlmanacError, InvalidInputError, InvalidSpecError

__all__ = [
    "UPSTREAM_RETRY_AFTER",
    "ApiError",
    "BadRequestError",
    "ConflictError",
    "ForbiddenError",
    "NotFoundError",
    "PayloadTooLargeError",
    "Problem",
    "TooManyRequestsError",
    "UnauthenticatedError",
    "UpstreamError",
    "bad_request_from",
    "rest_field",
]

#: Seconds a client should wait before retrying after a 503 (``Retry-After``): long enough
#: for a restarted API server, Postgres primary or Kafka leader to answer again, short
#: enough that an interactive caller does not give up.
UPSTREAM_RETRY_AFTER: Final = 5

#: Spec paths as the facade's callers know them (the job JSON), longest prefix first.
_FIELD_NAMES: Final = (
    ("spec.schedule.timeZone", "timezone"),
    ("spec.schedule.cron", "schedule"),
    ("spec.schedule.every", "schedule"),
    ("spec.schedule.at", "schedule"),
    ("spec.schedule.startTime", "start_date"),
    ("spec.schedule.endTime", "end_date"),
    ("spec.schedule.maxRuns", "max_executions"),
    ("spec.schedule.jitter", "jitter_seconds"),
    ("spec.schedule", "schedule"),
    ("spec.retry.maxAttempts", "retry_policy.max_retries"),
    ("spec.retry.backoff.initial", "retry_policy.initial_delay_seconds"),
    ("spec.retry.backoff.factor", "retry_policy.backoff_factor"),
    ("spec.retry.backoff.max", "retry_policy.max_delay_seconds"),
    ("spec.retry", "retry_policy"),
    ("spec.timeout", "timeout_seconds"),
    ("spec.overlapPolicy", "overlap_policy"),
    ("spec.maxConcurrentRuns", "concurrency"),
    ("spec.catchUp.window", "catch_up.window_seconds"),
    ("spec.catchUp.maxRuns", "catch_up.max_runs"),
    ("spec.catchUp", "catch_up"),
    ("spec.history.successfulJobs", "history_limits.successful"),
    ("spec.history.failedJobs", "history_limits.failed"),
    ("spec.history", "history_limits"),
    ("spec.triggers", "triggers"),
    ("spec.params", "payload"),
    ("spec.template", "type"),
    ("spec.suspend", "status"),
)


@dataclass(frozen=True)
class Problem:
    """One thing wrong with a request: where (``None``: the caller, not a field) and how
    to fix it."""

    field: str | None
    message: str
    code: str


class ApiError(AlmanacError):
    """A request the facade answers with ``status`` and the listed problems."""

    status: ClassVar[int] = 500
    code: ClassVar[str] = "api_error"
    #: Seconds to send as ``Retry-After`` (``None``: no such header).
    retry_after: int | None = None

    def __init__(
        self,
        message: str,
        field: str = "",
        problems: Sequence[Problem] = (),
        *,
        retry_after: int | None = None,
    ) -> None:
        super().__init__(message, field)
        self.problems: tuple[Problem, ...] = tuple(problems) or (
            Problem(field, message, self.code),
        )
        if retry_after is not None:
            self.retry_after = retry_after

    def headers(self) -> dict[str, str]:
        """Response headers that go with the body: ``Retry-After`` when it is known."""
        return {} if self.retry_after is None else {"Retry-After": str(self.retry_after)}

    def body(self) -> dict[str, Any]:
        """The JSON error body shared by every refusal."""
        return {
            "errors": [
                {"field": p.field, "message": p.message, "code": p.code} for p in self.problems
            ]
        }


class BadRequestError(ApiError):
    """Invalid body, query or identity header (HTTP 400)."""

    status: ClassVar[int] = 400
    code: ClassVar[str] = "bad_request"


class UnauthenticatedError(ApiError):
    """No identity header (HTTP 401)."""

    status: ClassVar[int] = 401
    code: ClassVar[str] = "unauthenticated"


class ForbiddenError(ApiError):
    """The identity may not act on this organisation (HTTP 403)."""

    status: ClassVar[int] = 403
    code: ClassVar[str] = "forbidden"


class NotFoundError(ApiError):
    """No such job, run or template in the caller's organisation (HTTP 404)."""

    status: ClassVar[int] = 404
    code: ClassVar[str] = "not_found"


class ConflictError(ApiError):
    """The job is already in the requested state, or changed under us (HTTP 409)."""

    status: ClassVar[int] = 409
    code: ClassVar[str] = "conflict"


class PayloadTooLargeError(ApiError):
    """The request body is over the route's limit (HTTP 413); refused before it is parsed."""

    status: ClassVar[int] = 413
    code: ClassVar[str] = "too_large"


class TooManyRequestsError(ApiError):
    """A per-organisation or per-user limit is reached (HTTP 429); the message names the
    limit and when or how to go on."""

    status: ClassVar[int] = 429
    code: ClassVar[str] = "limit_exceeded"


class UpstreamError(ApiError):
    """Kubernetes, Postgres or Kafka did not answer as expected (HTTP 503): not the caller's
    fault."""

    status: ClassVar[int] = 503
    code: ClassVar[str] = "upstream_unavailable"
    retry_after: int | None = UPSTREAM_RETRY_AFTER


def rest_field(spec_field: str) -> str:
    """``spec.params.sources[0]`` → ``payload.sources[0]``: name fields as the caller wrote them."""
    for prefix, name in _FIELD_NAMES:
        if spec_field == prefix or spec_field.startswith((prefix + ".", prefix + "[")):
            rest = spec_field[len(prefix) :]
            return name + rest if name in ("payload", "triggers") else name
    return spec_field.removeprefix("spec.")


def _problems_of(error: AlmanacError) -> Iterable[InvalidInputError | AlmanacError]:
    return error.problems if isinstance(error, InvalidSpecError) else (error,)


def bad_request_from(error: AlmanacError) -> BadRequestError:
    """A core validation error (one or many problems) as a 400 in the job JSON's terms."""
    problems = [Problem(rest_field(p.field), p.message, p.code) for p in _problems_of(error)]
    return BadRequestError(error.message, problems[0].field or "", problems)
