"""The one duration grammar of Almanac.

Every duration in a spec (``every``, ``phase``, ``jitter``, ``timeout``, ``delay``,
``catchUp.window``, backoff) is written the same way: unsigned ``<int><unit>`` groups in
decreasing unit order, units ``d h m s ms`` (``500ms``, ``90s``, ``1h30m``, ``2d``). One
grammar and one parser keep admission (the CRD ``pattern``), the REST facade and the
operator in agreement about what a duration means.
"""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Final

from almanac.core.errors import InvalidDurationError

__all__ = [
    "DURATION_MAX_LENGTH",
    "DURATION_PATTERN",
    "format_duration",
    "parse_duration",
]

#: Regular expression mirrored verbatim into the CRD ``pattern`` (RE2-compatible).
DURATION_PATTERN: Final = "^([0-9]+d)?([0-9]+h)?([0-9]+m)?([0-9]+s)?([0-9]+ms)?$"
#: Upper bound on the text length, also used by the CRD to bound CEL costs.
DURATION_MAX_LENGTH: Final = 32

_GROUPS: Final = re.compile(
    r"(?:(?P<d>[0-9]+)d)?(?:(?P<h>[0-9]+)h)?(?:(?P<m>[0-9]+)m)?"
    r"(?:(?P<s>[0-9]+)s)?(?:(?P<ms>[0-9]+)ms)?"
)
_UNIT_MS: Final = {"d": 86_400_000, "h": 3_600_000, "m": 60_000, "s": 1000, "ms": 1}
_HINT: Final = "write unsigned <int><unit> groups with units d, h, m, s, ms, e.g. 90s, 1h30m, 2d"
_MAX_MS: Final = 10_000 * 86_400_000  # far beyond any sane duration; keeps timedelta happy


def parse_duration(text: str, field: str = "", *, allow_zero: bool = False) -> timedelta:
    """Parse ``text`` into a :class:`~datetime.timedelta`.

    Parameters
    ----------
    text
        The duration as written by the user.
    field
        Field path reported in errors (``spec.schedule.every``).
    allow_zero
        Accept ``0s`` (phases and trigger delays may be zero; intervals may not).

    Raises
    ------
    InvalidDurationError
        Empty, signed, fractional, unknown unit, out of order, zero (unless allowed) or
        absurdly large.
    """
    if not isinstance(text, str):
        raise InvalidDurationError(f"expected a duration string, got {text!r}; {_HINT}", field)
    match = _GROUPS.fullmatch(text) if text and len(text) <= DURATION_MAX_LENGTH else None
    if match is None or not any(match.groups()):
        raise InvalidDurationError(f"{text!r} is not a duration; {_HINT}", field)
    total_ms = sum(int(v) * _UNIT_MS[unit] for unit, v in match.groupdict().items() if v)
    if total_ms == 0 and not allow_zero:
        raise InvalidDurationError(f"{text!r} is zero; give a positive duration, e.g. 1s", field)
    if total_ms > _MAX_MS:
        raise InvalidDurationError(f"{text!r} is too long; keep it under 10000d", field)
    return timedelta(milliseconds=total_ms)


def format_duration(value: timedelta) -> str:
    """Render ``value`` in the canonical grammar (``timedelta(seconds=90)`` → ``1m30s``).

    Sub-millisecond parts are dropped: the grammar has no finer unit.
    """
    total_ms = int(value / timedelta(milliseconds=1))
    if total_ms < 0:
        raise InvalidDurationError("durations are unsigned; give a positive value")
    if total_ms == 0:
        return "0s"
    parts: list[str] = []
    for unit, size in _UNIT_MS.items():
        count, total_ms = divmod(total_ms, size)
        if count:
            parts.append(f"{count}{unit}")
    return "".join(parts)
