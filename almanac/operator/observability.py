"""Prometheus metrics and the probes: liveness fails when the scheduler loop stops
ticking (a silent operator is the failure Kopf users report most), readiness says the
process is up and either leads or stands by."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass

from aiohttp import web
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    ProcessCollector,
    generate_latest,
)
from prometheus_client.core import CounterMetricFamily
from prometheus_client.registry import Collector

from almanac.buildinfo import register_build_info

from .jobmetrics import JobSeries
from .queuemetrics import QueueMetrics

__all__ = ["Metrics", "Probes", "start_probe_server"]

LIVENESS_LIMIT = 30.0  # seconds without a scheduler tick before liveness fails


class CountedElsewhere(Collector):
    """A counter whose running total another object keeps (the history buffer's drops),
    exposed as a Prometheus counter: ``increase()`` works on it, so an alert on it ends
    once the drops stop instead of firing until the next restart, as a gauge of the
    running total did."""

    def __init__(self, name: str, documentation: str, registry: CollectorRegistry) -> None:
        self._name = name
        self._documentation = documentation
        self._read: Callable[[], float] = lambda: 0.0
        registry.register(self)

    def set_function(self, read: Callable[[], float]) -> None:
        self._read = read

    def collect(self) -> Iterator[CounterMetricFamily]:
        yield CounterMetricFamily(self._name, self._documentation, value=self._read())


class Metrics:
    """The operator's series, in a registry of its own (no process-global state), with
    the process's own (``process_resident_memory_bytes``, CPU, open files)."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        ProcessCollector(registry=self.registry)
        register_build_info(self.registry, "operator")
        r = self.registry
        self.launched = Counter(
            "almanac_runs_launched_total", "Runs launched, by trigger.", ["trigger"], registry=r
        )
        self.finished = Counter(
            "almanac_runs_finished_total", "Runs finished, by result.", ["result"], registry=r
        )
        self.skipped = Counter(
            "almanac_slots_skipped_total", "Slots skipped, by reason.", ["reason"], registry=r
        )
        self.lag = Histogram(
            "almanac_schedule_lag_seconds",
            "Job creation time minus the slot it runs.",
            buckets=(0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300),
            registry=r,
        )
        #: Per-job series (last success, last failure, next run, failure streak).
        self.jobs = JobSeries(r)
        self.active = Gauge("almanac_active_runs", "Runs in progress.", registry=r)
        self.heap_size = Gauge("almanac_scheduler_heap_size", "Pending wake-ups.", registry=r)
        self.scheduled_jobs = Gauge("almanac_scheduledjobs", "ScheduledJobs watched.", registry=r)
        self.is_leader = Gauge(
            "almanac_is_leader",
            "1 while this replica surely holds the Lease (its writes are not fenced).",
            registry=r,
        )
        self.reconcile_errors = Counter(
            "almanac_reconcile_errors_total", "Reconcile passes that raised.", registry=r
        )
        self.foreign_objects = Counter(
            "almanac_foreign_objects_total",
            "Jobs and RunRequests ignored because their scheduledjob-uid label does not name "
            "their controller owner (made by someone other than Almanac).",
            ["kind"],
            registry=r,
        )
        self.status_writes = Counter(
            "almanac_status_writes_total", "Status patches written.", registry=r
        )
        self.history_backlog = Gauge(
            "almanac_history_backlog", "Run records waiting to be written.", registry=r
        )
        self.history_healthy = Gauge(
            "almanac_history_healthy", "1 while run history writes succeed.", registry=r
        )
        self.history_dropped = CountedElsewhere(
            "almanac_history_dropped", "Run records dropped by a full buffer.", r
        )
        self.outbox_backlog = Gauge(
            "almanac_notification_backlog", "Notifications not yet delivered.", registry=r
        )
        self.trigger_events = Counter(
            "almanac_trigger_events_total",
            "Trigger outcomes: received, matched, launched, cancelled, failed.",
            ["namespace", "scheduledjob", "trigger", "outcome"],
            registry=r,
        )
        self.trigger_latency = Histogram(
            "almanac_trigger_latency_seconds",
            "From an event's Kafka timestamp to its record (Job or RunRequest) being stored.",
            buckets=(0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30),
            registry=r,
        )
        self.trigger_lag = Gauge(
            "almanac_trigger_consumer_lag",
            "Trigger events not yet read (all partitions).",
            registry=r,
        )
        self.notify_healthy = Gauge(
            "almanac_notification_healthy", "1 while notifications reach Kafka.", registry=r
        )
        #: The launch queue (runs held by a limit): its size, wait, and why runs joined it.
        self.queue = QueueMetrics(r)


@dataclass
class Probes:
    metrics: Metrics
    leading: Callable[[], bool]
    last_tick: Callable[[], float | None]

    async def metrics_page(self, _: web.Request) -> web.Response:
        body = generate_latest(self.metrics.registry)
        return web.Response(body=body, headers={"Content-Type": CONTENT_TYPE_LATEST})

    async def healthz(self, _: web.Request) -> web.Response:
        tick = self.last_tick()
        if self.leading() and tick is not None and time.monotonic() - tick > LIVENESS_LIMIT:
            return web.Response(status=503, text="scheduler loop stalled\n")
        return web.Response(text="ok\n")

    async def readyz(self, _: web.Request) -> web.Response:
        return web.Response(text="leader\n" if self.leading() else "standby\n")


async def start_probe_server(probes: Probes, port: int) -> web.AppRunner:
    app = web.Application()
    app.router.add_get("/metrics", probes.metrics_page)
    app.router.add_get("/healthz", probes.healthz)
    app.router.add_get("/readyz", probes.readyz)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    await web.TCPSite(runner, "0.0.0.0", port).start()  # probes come from the kubelet
    return runner
