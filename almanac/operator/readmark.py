"""How far the trigger consumer has handled the events on its partitions, as an instant.

An event run due at T may be cancelled by any event sent before T (``cancelOn``), so it
may only start once every event sent up to T has been handled
(:func:`~almanac.core.requestdecisions.waits_for_events`). Per partition that is the send
time of the last record whose work is done, with everything before it; a partition read
to its end with nothing in flight is handled up to the fetch that found it so. Over the
consumer it is the earliest of its partitions: a run waits for the slowest partition,
since its cancel could be on any of them. Before the consumer has an assignment nothing
is known, so nothing that waits on it starts; with no trigger topics at all there is
nothing to wait for.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Final, Generic, TypeVar

__all__ = ["NOTHING_READ", "ReadMark"]

#: The mark of a partition nothing of which is known to be handled.
NOTHING_READ: Final = datetime.min.replace(tzinfo=UTC)

Partition = TypeVar("Partition")


@dataclass
class _Progress:
    #: Records read whose work is not known to be done: (offset, send time).
    pending: deque[tuple[int, datetime]] = field(default_factory=deque)
    handled_to: datetime = NOTHING_READ
    #: When the fetch that found the partition read to its end happened (``None``: not at
    #: its end): every event sent before then is handled.
    end_as_of: datetime | None = None


class ReadMark(Generic[Partition]):
    """Fed by the consumer's loop; read by the scheduler (:meth:`instant`)."""

    def __init__(
        self,
        has_topics: Callable[[], bool],
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        """``has_topics``: whether any ScheduledJob names a trigger topic now (none: no
        event run has anything to wait for)."""
        self._has_topics = has_topics
        self._clock = clock
        self._progress: dict[Partition, _Progress] = {}

    def assigned(self, partitions: Iterable[Partition]) -> None:
        """The partitions this consumer owns now; progress on others is forgotten (a
        partition assigned again is re-read from its committed offset)."""
        owned = set(partitions)
        self._progress = {p: self._progress.get(p, _Progress()) for p in owned}

    def read(self, partition: Partition, offset: int, sent: datetime) -> None:
        progress = self._progress.get(partition)
        if progress is not None:
            progress.pending.append((offset, sent))
            progress.end_as_of = None

    def handled(
        self, partition: Partition, before: int | None, *, end_as_of: datetime | None
    ) -> None:
        """Every record read below offset ``before`` is handled (``None``: every record
        read); ``end_as_of``: the partition was read to its end as of the fetch made then
        (``None``: it was not)."""
        progress = self._progress.get(partition)
        if progress is None:
            return
        while progress.pending and (before is None or progress.pending[0][0] < before):
            _, sent = progress.pending.popleft()
            progress.handled_to = max(progress.handled_to, sent)
        progress.end_as_of = end_as_of if not progress.pending else None

    def instant(self) -> datetime:
        """Every event sent up to this instant has been handled."""
        now = self._clock()
        if not self._has_topics():
            return now
        if not self._progress:
            return NOTHING_READ
        return min(
            max(p.handled_to, p.end_as_of) if p.end_as_of is not None else p.handled_to
            for p in self._progress.values()
        )
