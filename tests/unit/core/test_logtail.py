"""The log tail kept with a run: the newest lines, within lines and bytes, and whether
anything was left out."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from almanac.core.logtail import (
    LINE_LIMIT,
    READ_LIMIT,
    LogTail,
    LogTailLimits,
    read_args,
    tail_from_server,
    tail_of,
)


def test_a_short_log_is_kept_whole() -> None:
    assert tail_of("one\ntwo\n", LogTailLimits()) == LogTail(("one", "two"), False)


def test_the_newest_lines_are_kept_within_the_line_limit() -> None:
    text = "\n".join(f"line {i}" for i in range(10))
    assert tail_of(text, LogTailLimits(lines=3)) == LogTail(("line 7", "line 8", "line 9"), True)


def test_the_byte_limit_keeps_the_newest_lines_that_fit() -> None:
    tail = tail_of("aaaa\nbbbb\ncccc", LogTailLimits(lines=10, bytes=10))
    assert tail == LogTail(("bbbb", "cccc"), True)


def test_a_huge_line_is_cut_and_said_so() -> None:
    tail = tail_of("x" * (LINE_LIMIT + 10), LogTailLimits(bytes=10 * LINE_LIMIT))
    assert tail.truncated
    assert tail.lines[0].startswith("x" * LINE_LIMIT)
    assert len(tail.lines[0]) < LINE_LIMIT + 20


def test_a_tail_already_cut_by_the_server_says_truncated() -> None:
    assert tail_of("last", LogTailLimits(), more_before=True) == LogTail(("last",), True)


def test_keeping_no_lines_keeps_nothing_but_says_there_was_a_log() -> None:
    assert tail_of("a\nb", LogTailLimits(lines=0)) == LogTail((), True)
    assert tail_of("", LogTailLimits(lines=0)) == LogTail((), False)


@given(
    st.lists(
        st.text(alphabet=st.characters(exclude_categories=["Cs", "Zl", "Zp", "Cc"])), max_size=40
    ),
    st.integers(min_value=1, max_value=20),
    st.integers(min_value=1, max_value=400),
)
def test_any_tail_is_the_end_of_the_log_within_both_limits(
    lines: list[str], keep: int, budget: int
) -> None:
    tail = tail_of("\n".join(lines), LogTailLimits(lines=keep, bytes=budget))
    assert len(tail.lines) <= keep
    assert sum(len(line.encode()) + 1 for line in tail.lines) <= budget
    original = "\n".join(lines).splitlines()
    if not tail.truncated:
        assert list(tail.lines) == original
    elif tail.lines and all(len(line) <= LINE_LIMIT for line in tail.lines):
        assert list(tail.lines) == original[len(original) - len(tail.lines) :]


def test_the_server_is_asked_one_line_more_than_kept_and_its_presence_says_truncated() -> None:
    limits = LogTailLimits(lines=2)
    assert read_args(limits) == {"tail_lines": 3, "limit_bytes": READ_LIMIT}
    assert tail_from_server("a\nb\nc\n", limits) == LogTail(("b", "c"), True)
    assert tail_from_server("b\nc\n", limits) == LogTail(("b", "c"), False)
    cut = "x\n" * (READ_LIMIT // 2)  # the read hit its byte cap: its newest part is lost
    assert tail_from_server(cut, LogTailLimits(lines=10_000, bytes=READ_LIMIT)).truncated
