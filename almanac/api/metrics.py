"""Prometheus metrics of one facade process (own registry, so tests get fresh apps); the
middleware that feeds them is :mod:`almanac.api.observe`."""

from __future__ import annotations

from typing import Final

from prometheus_client import CollectorRegistry, Counter, Histogram, ProcessCollector

from almanac.buildinfo import register_build_info

__all__ = ["ApiMetrics"]

_BUCKETS: Final = (0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0)


class ApiMetrics:
    """Requests by route template and status, their latency, and trigger events."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        ProcessCollector(registry=self.registry)  # the facade's own memory and CPU
        register_build_info(self.registry, "facade")
        self.requests = Counter(
            "almanac_api_requests",
            "HTTP requests answered, by method, route template and status.",
            ["method", "route", "status"],
            registry=self.registry,
        )
        self.latency = Histogram(
            "almanac_api_request_duration_seconds",
            "Time to answer, by method and route template.",
            ["method", "route"],
            buckets=_BUCKETS,
            registry=self.registry,
        )
        self.audit_failures = Counter(
            "almanac_api_audit_failures",
            "Audit rows that could not be written (the change itself was made).",
            registry=self.registry,
        )
        self.limit_checks_failed = Counter(
            "almanac_api_limit_checks_failed",
            "Manual-run limit checks that could not read the history (the run was allowed).",
            registry=self.registry,
        )
        self.events = Counter(
            "almanac_api_events",
            "Events posted to POST /events, by outcome: published (acknowledged by Kafka) "
            "or failed (answered 503, not published).",
            ["outcome"],
            registry=self.registry,
        )
        for outcome in ("published", "failed"):
            self.events.labels(outcome)  # both series exist from the start, at 0
