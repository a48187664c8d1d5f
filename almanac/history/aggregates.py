"""The SQL of the history's aggregates: a job's stats and an organisation's summary.

Both ask the same question of different rows (one ScheduledJob's whole history; one
namespace's runs in a window), so the select list is written once (:data:`_AGGREGATES`)
and each query only adds its ``WHERE``. The window condition is shared with the runs list
(:func:`window_conditions`), so "runs from ``since`` to ``until``" means one thing in every
route. Each aggregate is one statement: the database does the counting, the rows never
travel. ``tests/support/runstore.py`` computes the same values in Python, and
``tests/support/storecontract.py`` holds both stores to them.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any, Final

from almanac.history.records import TIMEOUT_REASON, RunAggregate

__all__ = [
    "JOB_HOURS",
    "JOB_STATS",
    "JOB_TOP_ERRORS",
    "QUEUE",
    "SUMMARY",
    "aggregate_of",
    "window_conditions",
]

_AGGREGATES: Final = f"""
SELECT count(*) AS total,
       count(*) FILTER (WHERE status IN ('Pending', 'Running')) AS running,
       count(*) FILTER (WHERE status = 'Succeeded') AS succeeded,
       count(*) FILTER (WHERE status = 'Failed') AS failed,
       count(*) FILTER (WHERE status = 'Failed' AND reason = '{TIMEOUT_REASON}') AS timeouts,
       count(*) FILTER (WHERE status = 'Skipped') AS skipped,
       count(*) FILTER (WHERE status = 'Cancelled') AS cancelled,
       avg(duration_ms) AS avg_ms,
       min(duration_ms) AS min_ms,
       max(duration_ms) AS max_ms,
       percentile_cont(ARRAY[0.5, 0.95, 0.99]) WITHIN GROUP (ORDER BY duration_ms)
           FILTER (WHERE duration_ms IS NOT NULL) AS percentiles
FROM job_runs
"""
_OF_JOB: Final = "namespace = %(ns)s AND scheduledjob_uid = %(uid)s"

#: A ScheduledJob's aggregates (parameters ``ns``, ``uid``).
JOB_STATS: Final = f"{_AGGREGATES} WHERE {_OF_JOB}"
#: Its five most frequent failure messages.
JOB_TOP_ERRORS: Final = f"""
SELECT error, count(*) AS n, max(finished_at) AS last_seen
FROM job_runs
WHERE {_OF_JOB} AND status = 'Failed' AND error IS NOT NULL
GROUP BY error ORDER BY n DESC, error LIMIT 5
"""
#: Its five busiest UTC hours of the day (by start, else slot), over launched runs.
JOB_HOURS: Final = f"""
SELECT extract(hour FROM coalesce(started_at, slot) AT TIME ZONE 'UTC')::int AS hour,
       count(*) AS n
FROM job_runs WHERE {_OF_JOB} AND status <> 'Skipped'
GROUP BY 1 ORDER BY n DESC, hour LIMIT 5
"""
#: A namespace's aggregates over runs whose slot is in ``[since, until]``.
SUMMARY: Final = (
    f"{_AGGREGATES} WHERE namespace = %(ns)s AND slot >= %(since)s AND slot <= %(until)s"
)
#: A namespace's runs launched and not finished, whatever their slot.
QUEUE: Final = """
SELECT count(*) FILTER (WHERE status = 'Running') AS running,
       count(*) FILTER (WHERE status = 'Pending') AS pending
FROM job_runs WHERE namespace = %(ns)s AND status IN ('Pending', 'Running')
"""


def window_conditions(
    since: datetime | None, until: datetime | None, column: str = "slot"
) -> tuple[list[str], dict[str, Any]]:
    """``WHERE`` terms and parameters selecting runs whose slot is in ``[since, until]``
    (either bound may be open). The slot, not the start: every run has one (a skipped or
    pending run never started) and it is what the runs list is ordered and indexed by.
    Dead letters pass ``column="at"``: the instant they were parked."""
    terms: list[str] = []
    params: dict[str, Any] = {}
    if since is not None:
        terms.append(f"{column} >= %(since)s")
        params["since"] = since
    if until is not None:
        terms.append(f"{column} <= %(until)s")
        params["until"] = until
    return terms, params


def _seconds(ms: Any) -> float | None:
    return None if ms is None else float(ms) / 1000


def aggregate_of(row: Mapping[str, Any]) -> RunAggregate:
    """The :class:`RunAggregate` of one row of :data:`JOB_STATS` or :data:`SUMMARY`."""
    ok, bad = int(row["succeeded"]), int(row["failed"])
    percentiles = row["percentiles"] or (None, None, None)
    return RunAggregate(
        total=int(row["total"]),
        running=int(row["running"]),
        succeeded=ok,
        failed=bad,
        timeouts=int(row["timeouts"]),
        skipped=int(row["skipped"]),
        cancelled=int(row["cancelled"]),
        success_rate=ok / (ok + bad) if ok + bad else None,
        avg_seconds=_seconds(row["avg_ms"]),
        min_seconds=_seconds(row["min_ms"]),
        max_seconds=_seconds(row["max_ms"]),
        p50_seconds=_seconds(percentiles[0]),
        p95_seconds=_seconds(percentiles[1]),
        p99_seconds=_seconds(percentiles[2]),
    )
