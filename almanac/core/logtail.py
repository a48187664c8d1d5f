"""The tail of a run's log kept with its history row, bounded. Pure.

A run's pod (and its log) goes when history limits prune its Job; the tail kept with the
run is what a user reads afterwards (``GET /jobs/{id}/runs/{run_id}/logs``). It is bounded
by lines and by bytes so one chatty run cannot grow the history: the newest lines are
kept (a failure's cause is usually at the end), each line cut at :data:`LINE_LIMIT`
characters, and ``truncated`` says whether anything was left out.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

__all__ = [
    "DEFAULT_BYTES",
    "DEFAULT_LINES",
    "LINE_LIMIT",
    "READ_LIMIT",
    "LogTail",
    "LogTailLimits",
    "read_args",
    "tail_from_server",
    "tail_of",
]

DEFAULT_LINES: Final = 200
DEFAULT_BYTES: Final = 64 * 1024
#: Bytes read of a log at most, whatever the limits (a tail of long lines is still bounded).
READ_LIMIT: Final = 1024 * 1024
#: Characters kept of one line (a JSON dump on one line must not take the whole budget).
LINE_LIMIT: Final = 4096
_CUT: Final = " …[cut]"


@dataclass(frozen=True)
class LogTailLimits:
    """How much of a run's log is kept: ``lines`` (0: none) and ``bytes`` (UTF-8)."""

    lines: int = DEFAULT_LINES
    bytes: int = DEFAULT_BYTES

    @property
    def enabled(self) -> bool:
        return self.lines > 0 and self.bytes > 0


@dataclass(frozen=True)
class LogTail:
    """The kept lines, oldest first, and whether earlier (or longer) ones were left out."""

    lines: tuple[str, ...] = ()
    truncated: bool = False


def tail_of(text: str, limits: LogTailLimits, *, more_before: bool = False) -> LogTail:
    """The newest lines of ``text`` within ``limits``.

    ``more_before`` says the text itself is already a tail (the API server was asked for
    the last lines only and sent one more than kept, so earlier lines exist).
    """
    if not limits.enabled:
        return LogTail((), bool(text))
    lines = text.splitlines()
    truncated = more_before or len(lines) > limits.lines
    kept: list[str] = []
    used = 0
    for whole in reversed(lines[-limits.lines :]):
        line = whole if len(whole) <= LINE_LIMIT else whole[:LINE_LIMIT] + _CUT
        truncated = truncated or line is not whole
        size = len(line.encode("utf-8", "replace")) + 1
        if used + size > limits.bytes:
            truncated = True
            break
        kept.append(line)
        used += size
    return LogTail(tuple(reversed(kept)), truncated)


def read_args(limits: LogTailLimits) -> dict[str, int]:
    """The pod-log query that :func:`tail_from_server` reads: one line more than kept (its
    presence says earlier lines exist), and never more than :data:`READ_LIMIT` bytes."""
    return {"tail_lines": limits.lines + 1, "limit_bytes": READ_LIMIT}


def tail_from_server(text: str, limits: LogTailLimits) -> LogTail:
    """The tail of what the API server sent for :func:`read_args`; a read cut at
    :data:`READ_LIMIT` lost its newest part, which ``truncated`` says too."""
    lines = text.splitlines()
    more = len(lines) > limits.lines or len(text) >= READ_LIMIT
    return tail_of("\n".join(lines[-limits.lines :]), limits, more_before=more)
