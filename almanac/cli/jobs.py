"""``almanac get`` and ``almanac describe``: ScheduledJobs as kubectl shows them, plus what
only Almanac knows (the next slots, the last runs from the history)."""

from __future__ import annotations

import argparse
import sys
from datetime import UTC, datetime
from typing import Any, Final

from almanac.cli.kube import connected
from almanac.cli.sources import DESCRIBE_RUNS, HistorySettings, read_runs
from almanac.cli.tables import OUTPUTS, dump
from almanac.cli.views import describe_job, job_table
from almanac.core.errors import AlmanacError
from almanac.core.preview import format_instant, preview_slots
from almanac.core.resource import parse_spec

__all__ = ["describe", "get", "next_slots"]

#: Slots ``describe`` lists.
DESCRIBE_SLOTS: Final = 5


async def get(args: argparse.Namespace) -> int:
    async with connected(args) as cluster:
        if args.names:
            objs = [await cluster.scheduled_job(name) for name in args.names]
        else:
            objs = await cluster.scheduled_jobs(args.selector, all_namespaces=args.all_namespaces)
    if args.output in OUTPUTS:
        data = (
            objs[0] if len(args.names) == 1 else {"apiVersion": "v1", "kind": "List", "items": objs}
        )
        sys.stdout.write(dump(data, args.output))
        return 0
    if not objs:
        where = "any namespace" if args.all_namespaces else f"namespace {cluster.namespace}"
        print(f"No ScheduledJobs found in {where}.", file=sys.stderr)
        return 0
    now = datetime.now(UTC)
    wide = args.output == "wide"
    sys.stdout.write(job_table(objs, now, wide=wide, namespaces=args.all_namespaces))
    return 0


def next_slots(obj: dict[str, Any], now: datetime, count: int = DESCRIBE_SLOTS) -> list[str]:
    """The next slots of a stored ScheduledJob (none when suspended, trigger-only or
    invalid: its status says why)."""
    try:
        spec = parse_spec(obj.get("spec") or {})
        if spec.suspend or spec.schedule is None:
            return []
        return [format_instant(slot) for slot in preview_slots(spec, now, count)]
    except AlmanacError:
        return []


async def describe(args: argparse.Namespace) -> int:
    settings = HistorySettings.from_args(args.api, args.identity)
    async with connected(args) as cluster:
        obj = await cluster.scheduled_job(args.name)
        meta = obj["metadata"]
        jobs = await cluster.jobs_of(meta["uid"])
        runs, note = await read_runs(settings, cluster.namespace, meta["uid"], DESCRIBE_RUNS, jobs)
        events = await cluster.events_of(meta["name"], meta["uid"])
    now = datetime.now(UTC)
    text = describe_job(
        obj, slots=next_slots(obj, now), runs=runs, runs_note=note, events=events, now=now
    )
    sys.stdout.write(text)
    return 0
