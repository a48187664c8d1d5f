"""``almanac runs`` and ``almanac logs``: what a ScheduledJob's runs did.

``runs`` reads the history (:mod:`.sources`); ``logs`` reads the run's pod through the
Kubernetes API, as ``kubectl logs`` does (``-f`` follows), so it needs nothing but the
cluster, and only while the pod exists (history limits prune finished runs' Jobs).
"""

from __future__ import annotations

import argparse
import dataclasses
import sys
from datetime import UTC, datetime
from typing import Any

from almanac.cli.errors import CliError
from almanac.cli.kube import connected
from almanac.cli.sources import HistorySettings, read_runs
from almanac.cli.tables import OUTPUTS, dump
from almanac.cli.views import run_table
from almanac.core.errors import InvalidInputError
from almanac.core.vocabulary import LABEL_SCHEDULED_JOB_UID

__all__ = ["logs", "runs"]


async def runs(args: argparse.Namespace) -> int:
    if args.limit < 1:
        raise InvalidInputError("must be at least 1", "--limit")
    settings = HistorySettings.from_args(args.api, args.identity)
    async with connected(args) as cluster:
        obj = await cluster.scheduled_job(args.name)
        uid = obj["metadata"]["uid"]
        jobs = await cluster.jobs_of(uid)
        found, note = await read_runs(settings, cluster.namespace, uid, args.limit, jobs)
    rows = found or []
    if args.output in OUTPUTS:
        sys.stdout.write(dump([dataclasses.asdict(r) for r in rows], args.output))
        return 0
    print(f"# from {note}", file=sys.stderr)
    if not rows:
        print(f"No runs of {args.name} found.", file=sys.stderr)
        return 0
    sys.stdout.write(run_table(rows, datetime.now(UTC)))
    return 0


def _newest(items: list[dict[str, Any]]) -> dict[str, Any] | None:
    return max(items, key=lambda o: str(o["metadata"].get("creationTimestamp") or ""), default=None)


async def logs(args: argparse.Namespace) -> int:
    async with connected(args) as cluster:
        obj = await cluster.scheduled_job(args.name)
        uid = obj["metadata"]["uid"]
        if args.run:
            job = await cluster.job(args.run)
            if (job["metadata"].get("labels") or {}).get(LABEL_SCHEDULED_JOB_UID) != uid:
                raise CliError(f"{args.run} is not a run of {args.name}", "--run")
        else:
            job = _newest(await cluster.jobs_of(uid)) or {}
            if not job:
                raise CliError(f"{args.name} has no run in the cluster (yet, or any more)", "")
        name = job["metadata"]["name"]
        pod = _newest(await cluster.pods_of(name))
        if pod is None:
            raise CliError(f"run {name} has no pod (not started yet, or pruned)", "")
        async for line in cluster.log_lines(pod["metadata"]["name"], follow=args.follow):
            print(line, flush=True)
    return 0
