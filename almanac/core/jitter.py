"""Deterministic jitter: spreading launches without losing reproducibility.

The offset is a hash of (ScheduledJob uid, slot), so every replica and every restart agrees
on when a slot starts, and thousands of jobs on ``0 * * * *`` do not stampede the API
server at the top of the hour.
"""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime, timedelta

__all__ = ["jitter_offset", "launch_time"]


def jitter_offset(uid: str, slot: datetime, jitter: timedelta) -> timedelta:
    """Offset in ``[0, jitter)`` (millisecond steps) derived from ``uid`` and ``slot``."""
    span_ms = int(jitter / timedelta(milliseconds=1))
    if span_ms <= 0:
        return timedelta(0)
    key = f"{uid}/{slot.astimezone(UTC).isoformat()}".encode()
    value = int.from_bytes(hashlib.sha256(key).digest()[:8], "big")
    return timedelta(milliseconds=value % span_ms)


def launch_time(uid: str, slot: datetime, jitter: timedelta) -> datetime:
    """The instant the run of ``slot`` should start: ``slot`` plus its jitter."""
    return slot + jitter_offset(uid, slot, jitter)
