"""Errors of the run executor; each becomes a ``failed`` result, never a traceback.

The executor runs unattended in a pod: the only thing a user ever reads is the result in
the termination message (and the run's history). So every error carries the field it is
about (``ALMANAC_PARAMS``, ``params.url``) and a sentence saying how to fix it.

Hierarchy::

    AlmanacError                         (almanac.core.errors)
    └── ExecutorError                    code: executor_error
        ├── InvalidEnvironmentError      code: invalid_environment  (ALMANAC_* variables)
        ├── InvalidArgumentsError        code: invalid_arguments    (the template's args)
        ├── UnknownPayloadError          code: unknown_payload
        ├── InvalidParamsError           code: invalid_params       (aggregates problems)
        ├── SecretNotFoundError          code: secret_not_found
        ├── RefusedTargetError           code: refused_target       (egress guard)
        └── PayloadFailedError           code: payload_failed       (the work itself failed)
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, ClassVar

from almanac.core.errors import AlmanacError

__all__ = [
    "ExecutorError",
    "InvalidArgumentsError",
    "InvalidEnvironmentError",
    "InvalidParamsError",
    "PayloadFailedError",
    "RefusedTargetError",
    "SecretNotFoundError",
    "UnknownPayloadError",
]


class ExecutorError(AlmanacError):
    """Base of the executor's errors.

    Parameters
    ----------
    message
        Human sentence naming the problem and the fix.
    field
        ``ALMANAC_*`` variable or ``params.<path>`` the error is about, or ``""``.
    details
        Extra JSON-safe facts for the result's ``details`` (status code, exit code ...).
    """

    code: ClassVar[str] = "executor_error"

    def __init__(
        self, message: str, field: str = "", details: Mapping[str, Any] | None = None
    ) -> None:
        super().__init__(message, field)
        self.details: dict[str, Any] = dict(details or {})


class InvalidEnvironmentError(ExecutorError):
    """A run variable set by the operator is missing or malformed."""

    code: ClassVar[str] = "invalid_environment"


class InvalidArgumentsError(ExecutorError):
    """The command-line arguments (the template's ``args``) are malformed."""

    code: ClassVar[str] = "invalid_arguments"


class UnknownPayloadError(ExecutorError):
    """``ALMANAC_TEMPLATE`` names no payload type this image implements."""

    code: ClassVar[str] = "unknown_payload"


class InvalidParamsError(ExecutorError):
    """Params that the payload's model refuses; one ``(field, message)`` per problem."""

    code: ClassVar[str] = "invalid_params"

    def __init__(self, problems: Sequence[tuple[str, str]]) -> None:
        self.problems: tuple[tuple[str, str], ...] = tuple(problems)
        text = "; ".join(f"{field}: {message}" for field, message in self.problems)
        first = self.problems[0][0] if self.problems else "params"
        super().__init__(
            text or "invalid params",
            first,
            {"problems": [{"field": f, "message": m} for f, m in self.problems]},
        )

    def __str__(self) -> str:
        return self.message


class SecretNotFoundError(ExecutorError):
    """A ``secretKeyRef`` whose file the operator did not mount (or that is unreadable)."""

    code: ClassVar[str] = "secret_not_found"


class RefusedTargetError(ExecutorError):
    """A network target refused by the egress guard, before any connection was made."""

    code: ClassVar[str] = "refused_target"


class PayloadFailedError(ExecutorError):
    """The payload ran and failed: unreachable peer, bad status, non-zero exit, timeout."""

    code: ClassVar[str] = "payload_failed"
