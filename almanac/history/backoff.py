"""Exponential backoff, pure: the delay before retry ``n`` of a failing dependency.

Used by the history write buffer and the outbox relay, so that a Postgres or Kafka outage
costs a bounded number of attempts per minute instead of a hot loop (style rule 8: every
loop is bounded).
"""

from __future__ import annotations

import random
from dataclasses import dataclass

__all__ = ["Backoff"]


@dataclass(frozen=True)
class Backoff:
    """Delays ``initial · factor^(n-1)`` capped at ``maximum``, minus up to ``jitter`` of it.

    Parameters
    ----------
    initial
        Delay before the first retry, seconds.
    factor
        Growth per failed attempt.
    maximum
        Cap, seconds: an outage of any length is probed at least this often.
    jitter
        Fraction (0-1) of the delay removed at random, so replicas do not retry in step.
    """

    initial: float = 0.5
    factor: float = 2.0
    maximum: float = 30.0
    jitter: float = 0.0

    def __post_init__(self) -> None:
        if self.initial <= 0 or self.factor < 1 or self.maximum < self.initial:
            raise ValueError("backoff needs initial > 0, factor >= 1 and maximum >= initial")
        if not 0 <= self.jitter <= 1:
            raise ValueError("backoff jitter is a fraction from 0 to 1")

    def delay(self, failures: int, rng: random.Random | None = None) -> float:
        """Seconds to wait after ``failures`` consecutive failures (0 → no wait)."""
        if failures <= 0:
            return 0.0
        exponent = min(failures - 1, 64)  # keeps the power finite for very long outages
        base = min(self.maximum, self.initial * self.factor**exponent)
        if self.jitter and rng is not None:
            base -= base * self.jitter * rng.random()
        return base
