"""A stand-in for :class:`~almanac.notify.publisher.KafkaPublisher` in unit tests of its
callers (the outbox relay, the facade's events): records what it is asked to publish."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from almanac.notify.publisher import Message

__all__ = ["FakePublisher"]


@dataclass
class FakePublisher:
    """Records what it is asked to publish; ``fail_start``/``fail_publish`` simulate outages."""

    sent: list[Message] = field(default_factory=list)
    fail_start: int = 0
    fail_publish: int = 0
    started: bool = False

    async def start(self) -> None:
        if self.fail_start > 0:
            self.fail_start -= 1
            raise ConnectionError("simulated broker outage")
        self.started = True

    async def publish(self, messages: Sequence[Message]) -> list[BaseException | None]:
        if self.fail_publish > 0:
            self.fail_publish -= 1
            return [ConnectionError("simulated send failure") for _ in messages]
        self.sent.extend(messages)
        return [None for _ in messages]

    async def stop(self) -> None:
        self.started = False
