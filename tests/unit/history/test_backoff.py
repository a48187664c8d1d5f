"""Backoff delays: exponential, capped, optionally jittered downwards."""

from __future__ import annotations

import random

import pytest

from almanac.history import Backoff


@pytest.mark.parametrize(
    ("failures", "delay"),
    [
        pytest.param(0, 0.0, id="no-failure-no-wait"),
        pytest.param(1, 0.5, id="first-retry-waits-initial"),
        pytest.param(2, 1.0, id="second-doubles"),
        pytest.param(4, 4.0, id="fourth"),
        pytest.param(10, 30.0, id="capped-at-maximum"),
        pytest.param(10_000, 30.0, id="very-long-outage-stays-finite"),
    ],
)
def test_delay_grows_exponentially_up_to_the_cap(failures: int, delay: float) -> None:
    assert Backoff(initial=0.5, factor=2, maximum=30).delay(failures) == delay


def test_jitter_only_shortens_the_delay() -> None:
    backoff = Backoff(initial=1, maximum=8, jitter=0.5)
    rng = random.Random(7)

    delays = [backoff.delay(4, rng) for _ in range(100)]

    assert all(4 <= d <= 8 for d in delays)
    assert len(set(delays)) > 1


@pytest.mark.parametrize(
    "kwargs",
    [
        pytest.param({"initial": 0}, id="zero-initial"),
        pytest.param({"factor": 0.5}, id="shrinking-factor"),
        pytest.param({"initial": 5, "maximum": 1}, id="cap-below-initial"),
        pytest.param({"jitter": 2}, id="jitter-above-one"),
    ],
)
def test_nonsense_settings_are_refused(kwargs: dict[str, float]) -> None:
    with pytest.raises(ValueError, match="backoff"):
        Backoff(**kwargs)
