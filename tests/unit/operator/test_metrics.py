"""The operator's and the facade's metrics: dropped history records as a counter (an alert
on ``increase()`` ends when the drops stop) and each process's own memory and CPU."""

from __future__ import annotations

from prometheus_client import generate_latest

from almanac.api.metrics import ApiMetrics
from almanac.operator.observability import Metrics


def test_dropped_history_records_are_a_counter_of_the_buffers_total() -> None:
    metrics = Metrics()
    dropped = [0]
    metrics.history_dropped.set_function(lambda: float(dropped[0]))
    dropped[0] = 3
    page = generate_latest(metrics.registry).decode()
    assert "# TYPE almanac_history_dropped_total counter" in page
    assert "almanac_history_dropped_total 3.0" in page


def test_both_processes_report_their_own_memory() -> None:
    for registry in (Metrics().registry, ApiMetrics().registry):
        page = generate_latest(registry).decode()
        assert "process_resident_memory_bytes " in page
        assert "process_cpu_seconds_total " in page
