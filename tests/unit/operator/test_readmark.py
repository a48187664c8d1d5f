"""The trigger consumer's read mark: an event run due at T starts only once every event
sent up to T is handled, on every partition, since a cancel may be on any of them."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from almanac.operator.readmark import NOTHING_READ, ReadMark

T0 = datetime(2026, 12, 4, 12, 0, tzinfo=UTC)
NOW = T0 + timedelta(minutes=5)


def mark(*, topics: bool = True) -> ReadMark[str]:
    return ReadMark(lambda: topics, clock=lambda: NOW)


def sent(seconds: float) -> datetime:
    return T0 + timedelta(seconds=seconds)


def test_with_no_trigger_topics_nothing_waits() -> None:
    assert mark(topics=False).instant() == NOW


def test_before_any_assignment_nothing_is_known() -> None:
    """A new leader's consumer has not joined yet: overdue steps wait for it."""
    assert mark().instant() == NOTHING_READ


def test_a_backlog_is_handled_record_by_record() -> None:
    """Read from a backlog: the start (sent at 0 s) is handled, the cancel (sent at 6 s)
    not yet, so a step due at 20 s must wait, one due at 0 s need not."""
    m = mark()
    m.assigned(["p0"])
    m.read("p0", 10, sent(0))
    m.read("p0", 11, sent(6))
    assert m.instant() == NOTHING_READ
    m.handled("p0", 11, end_as_of=None)
    assert m.instant() == sent(0)
    m.handled("p0", None, end_as_of=None)
    assert m.instant() == sent(6)


def test_a_partition_read_to_its_end_counts_from_the_poll_that_found_it() -> None:
    m = mark()
    m.assigned(["p0"])
    m.read("p0", 10, sent(0))
    m.handled("p0", None, end_as_of=sent(30))
    assert m.instant() == sent(30)
    m.read("p0", 11, sent(31))  # more arrived: no longer at its end
    assert m.instant() == sent(0)


def test_the_slowest_partition_holds_the_mark() -> None:
    m = mark()
    m.assigned(["p0", "p1"])
    m.handled("p0", None, end_as_of=sent(30))
    m.read("p1", 5, sent(3))
    m.handled("p1", None, end_as_of=None)
    assert m.instant() == sent(3)


def test_a_partition_given_away_no_longer_holds_the_mark() -> None:
    m = mark()
    m.assigned(["p0", "p1"])
    m.handled("p0", None, end_as_of=sent(30))
    assert m.instant() == NOTHING_READ  # p1: nothing known
    m.assigned(["p0"])
    assert m.instant() == sent(30)
