"""The benchmarks' clock for "the Job exists": when a watch first delivers each Job.

The watch must not be the bottleneck it measures. Deserialising every watch event into
kubernetes_asyncio models (as ``watch.Watch`` does) costs the benchmark process a
fraction of a millisecond per event, and a launch burst brings several events per Job,
so on two cores that watcher fell behind the stream and its lag was counted as the
operator's. This one reads the raw lines with the operator's own Job watch
(:class:`almanac.operator.watch.ResourceWatch`): one ``json.loads`` per event.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from kubernetes_asyncio import client

from almanac.operator.watch import ResourceWatch, job_lister

__all__ = ["watch_first_seen"]

#: Called once per Job name, with the Job and the wall-clock time it was first seen.
FirstSeen = Callable[[dict[str, Any], float], None]


async def _never_busy() -> None:
    """The benchmark launches nothing, so its watch never waits for a burst."""


async def watch_first_seen(api: client.ApiClient, namespace: str, seen: FirstSeen) -> None:
    """Report each Job of ``namespace`` the first time the watch delivers it (until
    cancelled)."""
    reported: set[str] = set()

    def handle(job: dict[str, Any], deleted: bool) -> None:
        name = str((job.get("metadata") or {}).get("name", ""))
        if not deleted and name not in reported:
            reported.add(name)
            seen(job, time.time())

    await ResourceWatch(job_lister(api), "", [namespace], handle, _never_busy).run()
