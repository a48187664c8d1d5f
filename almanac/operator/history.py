"""The leader's history side: the write buffer, the outbox relay and retention, as tasks.

Opening follows one rule: a database that is *misconfigured* (bad URL, wrong password,
missing database) stops the process at start-up with a message naming
``ALMANAC_DATABASE_URL``; a database that is merely *unreachable* does not stop scheduling.
The operator then records into a deferred store, reports ``Degraded``, and attaches the
real store once Postgres answers. Nothing in here is awaited by a launch.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from almanac.core.durations import parse_duration
from almanac.core.errors import AlmanacError, InvalidInputError
from almanac.core.logtail import DEFAULT_BYTES, DEFAULT_LINES, LogTailLimits
from almanac.history import Backoff, BufferedRecorder, DatabaseConfigError, History
from almanac.history.deferred import DeferredRunStore
from almanac.kafkasecurity import KafkaSecurity
from almanac.notify import KafkaPublisher, NotifySettings, OutboxRelay

from .logs import log
from .observability import Metrics
from .recording import RunRecorder

__all__ = ["HistoryService", "HistorySettings"]

GAUGE_INTERVAL = 1.0  # seconds between metric/health samples
STOP_SECONDS = 5.0  # how long a stop waits for tasks to end (they watch a stop event)


def _duration(env: Mapping[str, str], name: str, default: str) -> timedelta:
    raw = env.get(name) or default
    try:
        return parse_duration(raw, name)
    except AlmanacError:
        raise InvalidInputError(
            f"{name}={raw!r} is not a duration; use e.g. 30d, 12h or 90m", name
        ) from None


@dataclass(frozen=True)
class HistorySettings:
    """How long runs are kept and how often the leader deletes older ones."""

    retention: timedelta = timedelta(days=30)
    retention_interval: timedelta = timedelta(hours=1)
    #: How much of each finished run's log is kept with its row (lines 0: none).
    logs: LogTailLimits = field(default_factory=LogTailLimits)

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> HistorySettings:
        env = os.environ if env is None else env
        return cls(
            retention=_duration(env, "ALMANAC_HISTORY_RETENTION", "30d"),
            retention_interval=_duration(env, "ALMANAC_HISTORY_RETENTION_INTERVAL", "1h"),
            logs=LogTailLimits(
                lines=_count(env, "ALMANAC_HISTORY_LOG_LINES", DEFAULT_LINES, 10_000),
                bytes=_count(env, "ALMANAC_HISTORY_LOG_BYTES", DEFAULT_BYTES, 1024 * 1024),
            ),
        )


def _count(env: Mapping[str, str], name: str, default: int, high: int) -> int:
    raw = env.get(name, "").strip()
    if not raw:
        return default
    if not raw.isdigit() or int(raw) > high:
        raise InvalidInputError(
            f"{name}={raw!r} is not a whole number from 0 to {high}; e.g. {default}", name
        )
    return int(raw)


class HistoryService:
    """Owns the history connection and the tasks around it for one operator process."""

    def __init__(
        self,
        settings: HistorySettings,
        notify: NotifySettings,
        metrics: Metrics,
        env: Mapping[str, str],
        history: History | None,
        *,
        unreachable: str | None = None,
    ) -> None:
        self.settings = settings
        self.notify = notify
        self._metrics = metrics
        self._env = env
        self.history = history
        self._deferred = DeferredRunStore(unreachable or "") if history is None else None
        store = history.store if history is not None else self._deferred
        assert store is not None
        self.recorder = RunRecorder(BufferedRecorder(store), notify)
        self.relay: OutboxRelay | None = None
        self.on_health_change: Callable[[], None] = lambda: None
        #: Handed to the outbox relay once it exists (the notices' spans).
        self.on_published: Callable[..., None] | None = None
        self._stop = asyncio.Event()
        self._tasks: list[asyncio.Task[None]] = []

    @classmethod
    async def open(
        cls,
        metrics: Metrics,
        env: Mapping[str, str] | None = None,
        *,
        settings: HistorySettings | None = None,
        notify: NotifySettings | None = None,
    ) -> HistoryService:
        """Connect with the process's settings (read from ``env`` when not given); raise
        only for configuration mistakes."""
        env = dict(os.environ if env is None else env)
        settings = settings or HistorySettings.from_env(env)
        notify = notify or NotifySettings.from_env(env)
        try:
            history = await History.from_env(env)
        except DatabaseConfigError as exc:
            if exc.reason != "host":
                raise
            log.error(
                "history database unreachable at start-up: scheduling goes on, runs are "
                "buffered until it answers",
                extra={"error": str(exc)},
            )
            return cls(settings, notify, metrics, env, None, unreachable=str(exc))
        return cls(settings, notify, metrics, env, history)

    def start(self) -> None:
        """Start the buffer, relay, retention and gauge tasks (leader only)."""
        # Live gauges: a scrape reads the same state the Degraded condition is built
        # from, never a sample taken before an outage began.
        metrics = self._metrics
        metrics.history_backlog.set_function(lambda: self.recorder.buffer.backlog)
        metrics.history_healthy.set_function(lambda: int(self.recorder.buffer.healthy))
        metrics.history_dropped.set_function(lambda: self.recorder.buffer.dropped)
        metrics.notify_healthy.set_function(
            lambda: 1 if self.relay is None or self.relay.healthy else 0
        )
        self._tasks = [
            asyncio.create_task(self.recorder.buffer.run(self._stop)),
            asyncio.create_task(self._gauges()),
        ]
        if self.history is None:
            self._tasks.append(asyncio.create_task(self._connect()))
        else:
            self._attached(self.history)

    def _attached(self, history: History) -> None:
        """The database answers: relay notifications and apply retention from now on."""
        self.history = history
        if self.notify.enabled and self.notify.bootstrap:
            # TriggerSettings.from_env refused a bad security setting at start-up already.
            publisher = KafkaPublisher(
                self.notify.bootstrap, security=KafkaSecurity.from_env(self._env)
            )
            self.relay = OutboxRelay(history.pool, publisher)
            self.relay.on_published = self.on_published
            self._tasks.append(asyncio.create_task(self.relay.run(self._stop)))
        self._tasks.append(asyncio.create_task(self._retention()))

    async def _connect(self) -> None:
        """Retry opening with backoff until Postgres answers (or configuration is wrong)."""
        backoff = Backoff(initial=1.0, maximum=30.0, jitter=0.2)
        failures = 0
        while not self._stop.is_set():
            try:
                history = await History.from_env(self._env)
            except DatabaseConfigError as exc:
                failures += 1
                log.warning("history database still unreachable", extra={"error": str(exc)})
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._stop.wait(), backoff.delay(failures))
                continue
            assert self._deferred is not None
            self._deferred.attach(history.store)
            log.info("history database reachable: writing buffered runs")
            self._attached(history)
            self.recorder.buffer.retry_now()
            return

    async def _retention(self) -> None:
        """Delete runs older than the retention, and delivered outbox rows, every interval."""
        interval = self.settings.retention_interval.total_seconds()
        while not self._stop.is_set():
            cutoff = datetime.now(UTC) - self.settings.retention
            try:
                deleted = await self.recorder.buffer.store.delete_older_than(cutoff)
                purged = await self.relay.purge_delivered(cutoff) if self.relay else 0
            except Exception as exc:  # an outage: try again next interval
                log.warning("history retention failed", extra={"error": str(exc)})
            else:
                if deleted or purged:
                    log.info(
                        "history retention",
                        extra={"deleted_runs": deleted, "purged_notifications": purged},
                    )
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._stop.wait(), interval)

    async def _gauges(self) -> None:
        """Sample the notification backlog; a health change re-reconciles all jobs so
        their ``Degraded`` condition follows."""
        healthy = True
        while not self._stop.is_set():
            buffer = self.recorder.buffer
            if buffer.healthy != healthy:
                healthy = buffer.healthy
                self.on_health_change()
            if self.relay is not None:
                with contextlib.suppress(Exception):
                    pending = await asyncio.wait_for(self.relay.pending(), GAUGE_INTERVAL)
                    self._metrics.outbox_backlog.set(pending)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._stop.wait(), GAUGE_INTERVAL)

    async def aclose(self) -> None:
        """Stop the tasks, flush what is buffered (bounded), close the pool."""
        self._stop.set()
        left = await self.recorder.buffer.aclose()
        if left:
            log.warning(
                "history records left unwritten at shutdown (the next leader re-records "
                "runs whose Jobs still exist)",
                extra={"backlog": left},
            )
        # The tasks end by themselves on ``_stop``; cancelling at once would cut the relay's
        # producer stop short and leave aiokafka's tasks running (Kopf then waits 5 s).
        hanging: set[asyncio.Task[None]] = set()
        if self._tasks:
            _, hanging = await asyncio.wait(self._tasks, timeout=STOP_SECONDS)
        for task in hanging:
            task.cancel()
        await asyncio.gather(*hanging, return_exceptions=True)
        if self.history is not None:
            await self.history.aclose()
