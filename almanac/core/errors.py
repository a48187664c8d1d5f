"""Errors raised by the pure core.

Every error names the offending field and says how to fix it, because the same objects
travel to three edges: admission (kubectl / GitOps), the REST facade (HTTP 400) and the
operator (status condition ``InvalidSpec``). Each edge maps them in one place, keyed by the
stable ``code``.

Hierarchy::

    AlmanacError                      code: almanac_error
    └── InvalidInputError             code: invalid_input        (also a ValueError)
        ├── InvalidDurationError      code: invalid_duration
        ├── InvalidCronError          code: invalid_cron
        ├── UnknownTimeZoneError      code: unknown_time_zone
        ├── NaiveDatetimeError        code: naive_datetime
        ├── InvalidNameError          code: invalid_name
        ├── InvalidScheduleError      code: invalid_schedule
        │   └── ScheduleNeverFiresError   code: schedule_never_fires
        ├── ReservedKafkaNameError    code: reserved_kafka_name
        └── InvalidSpecError          code: invalid_spec  (aggregates ``problems``)

``InvalidInputError`` subclasses ``ValueError`` so that pydantic validators can raise it and
pydantic reports it with its location; :func:`almanac.core.models.parse_spec` turns the
result back into an :class:`InvalidSpecError` carrying the full field paths.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import ClassVar, Self

__all__ = [
    "AlmanacError",
    "InvalidCronError",
    "InvalidDurationError",
    "InvalidInputError",
    "InvalidNameError",
    "InvalidScheduleError",
    "InvalidSpecError",
    "NaiveDatetimeError",
    "ReservedKafkaNameError",
    "ScheduleNeverFiresError",
    "UnknownTimeZoneError",
]


class AlmanacError(Exception):
    """Base of every error Almanac raises on purpose.

    Parameters
    ----------
    message
        Human sentence naming the problem and the fix.
    field
        Dotted path of the offending field (``spec.schedule.cron[1]``), or ``""`` when the
        error is not about one field.
    """

    code: ClassVar[str] = "almanac_error"

    def __init__(self, message: str, field: str = "") -> None:
        super().__init__(message)
        self.message = message
        self.field = field

    def __str__(self) -> str:
        return f"{self.field}: {self.message}" if self.field else self.message

    def with_field(self, field: str) -> Self:
        """Return a copy whose field path is ``field``; the class and message are kept."""
        return type(self)(self.message, field)


class InvalidInputError(AlmanacError, ValueError):
    """User input (a spec, a CLI flag, a REST body) that cannot be accepted."""

    code: ClassVar[str] = "invalid_input"


class InvalidDurationError(InvalidInputError):
    """A duration outside the ``<int><unit>`` grammar, or zero where a positive one is due."""

    code: ClassVar[str] = "invalid_duration"


class InvalidCronError(InvalidInputError):
    """A cron line that does not parse: field count, names, ranges, steps, macros."""

    code: ClassVar[str] = "invalid_cron"


class UnknownTimeZoneError(InvalidInputError):
    """A ``timeZone`` that is not an IANA zone known to the bundled tz database."""

    code: ClassVar[str] = "unknown_time_zone"


class NaiveDatetimeError(InvalidInputError):
    """A datetime without an offset: the core only reasons about real instants."""

    code: ClassVar[str] = "naive_datetime"


class InvalidNameError(InvalidInputError):
    """A Kubernetes object name that is not a valid DNS-1123 subdomain."""

    code: ClassVar[str] = "invalid_name"


class InvalidScheduleError(InvalidInputError):
    """A schedule whose parts conflict (cron and at, end before start, ...)."""

    code: ClassVar[str] = "invalid_schedule"


class ScheduleNeverFiresError(InvalidScheduleError):
    """A schedule that parses but has no slot at all (``0 0 30 2 *``)."""

    code: ClassVar[str] = "schedule_never_fires"


class ReservedKafkaNameError(InvalidInputError):
    """A Kafka topic or header that is Almanac's own (see :mod:`almanac.core.kafkanames`)."""

    code: ClassVar[str] = "reserved_kafka_name"


class InvalidSpecError(InvalidInputError):
    """Several problems found while validating one object, each with its own field.

    Parameters
    ----------
    problems
        The individual errors; never empty.
    """

    code: ClassVar[str] = "invalid_spec"

    def __init__(self, problems: Sequence[InvalidInputError]) -> None:
        self.problems: tuple[InvalidInputError, ...] = tuple(problems)
        first = self.problems[0] if self.problems else InvalidInputError("invalid spec")
        super().__init__("; ".join(str(p) for p in self.problems) or first.message, first.field)

    def __str__(self) -> str:
        # Each problem already names its own field; do not prefix the first one's again.
        return self.message

    def with_field(self, field: str) -> Self:
        """Return the same aggregate; the problems already carry their own paths."""
        return self
