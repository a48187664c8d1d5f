"""The leader sampler's answers the faults rely on: who leads, and for how long the samples
have shown that same single leader (a leader is struck only after leading a while)."""

from __future__ import annotations

from hack.chaos.recorders import LeaderSampler


def sampler(*samples: tuple[float, frozenset[str]]) -> LeaderSampler:
    s = LeaderSampler(lambda: [])
    s.samples.extend(samples)
    return s


A, B, NONE = frozenset({"a"}), frozenset({"b"}), frozenset[str]()


def test_tenure_counts_the_latest_streak_of_one_leader() -> None:
    s = sampler((0.0, A), (1.0, NONE), (2.0, B), (3.0, B), (6.5, B))
    assert s.leader() == "b"
    assert s.tenure() == 4.5


def test_no_leader_or_two_leaders_have_no_tenure() -> None:
    assert sampler().tenure() == 0.0
    assert sampler((0.0, A), (1.0, NONE)).tenure() == 0.0
    assert sampler((0.0, A | B), (5.0, A | B)).tenure() == 0.0
