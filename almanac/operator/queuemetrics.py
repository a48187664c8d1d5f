"""The launch queue's series: how many runs wait, how long they waited, why they joined."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

__all__ = ["QueueMetrics"]


class QueueMetrics:
    """``almanac_runs_queued{namespace}`` (only namespaces with queued runs have a
    series: bounded by the namespaces that use Almanac), the queue wait, and runs queued
    by limit (five values)."""

    def __init__(self, registry: CollectorRegistry) -> None:
        self.queued = Gauge(
            "almanac_runs_queued",
            "Runs waiting in the launch queue (Jobs suspended by a limit), by namespace.",
            ["namespace"],
            registry=registry,
        )
        self.queued_total = Counter(
            "almanac_runs_enqueued_total",
            "Runs that joined the launch queue, by the limit that held them.",
            ["reason"],
            registry=registry,
        )
        self.wait = Histogram(
            "almanac_queue_wait_seconds",
            "Time a queued run waited, from its Job's creation to its release.",
            buckets=(1, 5, 15, 30, 60, 120, 300, 600, 1800, 3600, 4 * 3600),
            registry=registry,
        )
        self._shown: set[str] = set()

    def show(self, counts: dict[str, int]) -> None:
        for namespace in self._shown - set(counts):
            self.queued.remove(namespace)
        for namespace, count in counts.items():
            self.queued.labels(namespace).set(count)
        self._shown = set(counts)
