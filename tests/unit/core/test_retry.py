"""Retries: maxAttempts counts the first run; delay = min(initial·factor^(n-1), max)."""

from __future__ import annotations

from datetime import timedelta

import pytest

from almanac.core import GiveUp, Retry, RetryAfter, RunPhase, backoff_delay, decide_retry
from almanac.core.retry import exhausted, will_retry

RETRY = Retry.model_validate(
    {"maxAttempts": 4, "backoff": {"initial": "10s", "factor": 3, "max": "1m"}}
)


@pytest.mark.parametrize(
    ("attempt", "delay"),
    [
        pytest.param(1, timedelta(seconds=10), id="first-failure-initial"),
        pytest.param(2, timedelta(seconds=30), id="times-factor"),
        pytest.param(3, timedelta(minutes=1), id="capped-at-max"),
        pytest.param(50, timedelta(minutes=1), id="huge-attempt-no-overflow"),
    ],
)
def test_backoff_delay(attempt: int, delay: timedelta) -> None:
    assert backoff_delay(RETRY, attempt) == delay


@pytest.mark.parametrize(
    ("attempt", "phase", "expected"),
    [
        pytest.param(1, RunPhase.FAILED, RetryAfter(2, timedelta(seconds=10)), id="retry-first"),
        pytest.param(3, RunPhase.FAILED, RetryAfter(4, timedelta(minutes=1)), id="retry-last"),
        pytest.param(4, RunPhase.FAILED, GiveUp(4, "failed 4 of 4 attempts"), id="give-up"),
        pytest.param(1, RunPhase.SUCCEEDED, None, id="success-nothing"),
        pytest.param(1, RunPhase.CANCELLED, None, id="cancelled-not-retried"),
        pytest.param(1, RunPhase.RUNNING, None, id="running-nothing"),
    ],
)
def test_decide_retry(attempt: int, phase: RunPhase, expected: object) -> None:
    assert decide_retry(RETRY, attempt, phase) == expected


def test_default_retry_means_single_attempt() -> None:
    assert decide_retry(Retry(), 1, RunPhase.FAILED) == GiveUp(1, "failed 1 of 1 attempts")


def test_attempts_are_numbered_from_one() -> None:
    with pytest.raises(ValueError, match="from 1"):
        backoff_delay(RETRY, 0)


@pytest.mark.parametrize(
    ("attempt", "phase", "expected"),
    [
        pytest.param(1, RunPhase.FAILED, True, id="failed-with-attempts-left"),
        pytest.param(4, RunPhase.FAILED, False, id="failed-last-attempt"),
        pytest.param(1, RunPhase.SUCCEEDED, False, id="succeeded"),
        pytest.param(1, RunPhase.CANCELLED, False, id="cancelled-never-retried"),
        pytest.param(1, RunPhase.SKIPPED, False, id="skipped-never-retried"),
    ],
)
def test_will_retry_follows_decide_retry(attempt: int, phase: RunPhase, expected: bool) -> None:
    assert will_retry(RETRY, attempt, phase) is expected


@pytest.mark.parametrize(
    ("retry", "attempt", "phase", "expected"),
    [
        pytest.param(RETRY, 3, RunPhase.FAILED, False, id="attempts-left"),
        pytest.param(RETRY, 4, RunPhase.FAILED, True, id="last-attempt-failed"),
        pytest.param(RETRY, 5, RunPhase.FAILED, True, id="retry-by-hand-past-the-last-failed"),
        pytest.param(RETRY, 4, RunPhase.SUCCEEDED, False, id="last-attempt-succeeded"),
        pytest.param(Retry(), 1, RunPhase.FAILED, False, id="no-retry-policy-nothing-to-exhaust"),
    ],
)
def test_exhausted_means_failed_with_no_retry_left(
    retry: Retry, attempt: int, phase: RunPhase, expected: bool
) -> None:
    assert exhausted(retry, attempt, phase) is expected
