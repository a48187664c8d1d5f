"""Shared anchors and helpers for the core tests."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from almanac.core import CompiledSchedule, compile_schedule, parse_schedule

#: Fixed anchor: the top of an ordinary hour, far from any DST change.
TOP_OF_HOUR = datetime(2026, 6, 15, 10, 0, tzinfo=UTC)


def compiled(**schedule: Any) -> CompiledSchedule:
    """Compile a ``spec.schedule`` given as camelCase keyword arguments."""
    return compile_schedule(parse_schedule(schedule))


def utc(text: str) -> datetime:
    """Parse an RFC 3339 instant (must carry an offset) into UTC."""
    value = datetime.fromisoformat(text)
    assert value.tzinfo is not None, text
    return value.astimezone(UTC)
