"""Retry decisions and exponential backoff for failed runs.

``maxAttempts`` counts the first run (1 = never retry) and attempts are numbered from 1, as
contracts.md pins, so ``attempt`` in names, labels and history means the same everywhere.
"""

from __future__ import annotations

from datetime import timedelta

from almanac.core.decisions import GiveUp, RetryAfter
from almanac.core.durations import parse_duration
from almanac.core.models import Retry
from almanac.core.status import RunPhase

__all__ = ["backoff_delay", "decide_retry", "exhausted", "will_retry"]


def backoff_delay(retry: Retry, attempt: int) -> timedelta:
    """Delay after attempt ``attempt`` failed: ``min(initial * factor^(attempt-1), max)``.

    Computed without overflow for any attempt number (the cap is applied before powers can
    grow past it).
    """
    if attempt < 1:
        raise ValueError("attempts are numbered from 1")
    initial = parse_duration(retry.backoff.initial, "spec.retry.backoff.initial")
    ceiling = parse_duration(retry.backoff.max, "spec.retry.backoff.max")
    delay = initial
    for _ in range(min(attempt - 1, 1000)):
        if delay >= ceiling:
            break
        delay = delay * retry.backoff.factor
    return min(delay, ceiling)


def decide_retry(retry: Retry, attempt: int, phase: RunPhase) -> RetryAfter | GiveUp | None:
    """What follows attempt ``attempt`` ending in ``phase``.

    Returns ``None`` when there is nothing to decide (the run succeeded, is not finished,
    or was cancelled/skipped on purpose — those are never retried).
    """
    if phase is not RunPhase.FAILED:
        return None
    if attempt >= retry.max_attempts:
        return GiveUp(attempt, f"failed {attempt} of {retry.max_attempts} attempts")
    return RetryAfter(attempt + 1, backoff_delay(retry, attempt))


def will_retry(retry: Retry, attempt: int, phase: RunPhase) -> bool:
    """True when attempt ``attempt`` ended in ``phase`` and :func:`decide_retry` follows it
    with another attempt: what a run's failed event announces as ``will_retry``."""
    return isinstance(decide_retry(retry, attempt, phase), RetryAfter)


def exhausted(retry: Retry, attempt: int, phase: RunPhase) -> bool:
    """True when attempt ``attempt`` failed and it was the last the retry policy allows,
    though the policy allows retries: the run is dead-lettered. A job without retries
    (``maxAttempts`` 1) has nothing to exhaust: its failures stay plain failures, so
    ``failed`` and ``timeout`` keep their meaning; an attempt past the policy's last (a
    retry asked for by hand, a requeue) that fails is dead-lettered again."""
    return retry.max_attempts > 1 and isinstance(decide_retry(retry, attempt, phase), GiveUp)
