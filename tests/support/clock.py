"""A monotonic clock a test moves by hand (code under test takes ``clock=``)."""

from __future__ import annotations

__all__ = ["ManualClock"]


class ManualClock:
    """Seconds that change only when the test sets or adds to :attr:`now`."""

    def __init__(self, now: float = 1000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now
