"""``run``, ``suspend``, ``resume``, ``retry`` and ``backfill``: asking the operator for
runs, as the user.

How a request reaches the operator (why not a RunRequest: the admission webhook lets only
the operator and the facade write those, since a RunRequest launches with the params it
carries):

* ``run`` and ``retry`` set the ScheduledJob's ``almanac.dev/run-now`` / ``almanac.dev/retry``
  annotation (a merge patch, so the user's RBAC on ScheduledJobs applies); the operator
  starts one run per key and acknowledges it in ``status.runNowKeys``. ``run`` makes the
  key up unless ``--key`` is given, so nobody invents one by hand. With ``--api`` both go
  through the facade's routes instead (its roles, limits and audit apply).
* ``backfill`` sets ``almanac.dev/backfill: <start>/<end>``, which the operator turns into
  the RunRequests the facade's backfill writes (:mod:`almanac.core.backfills`), or goes
  through the facade with ``--api``; either way one RunRequest per slot, launched as the
  job's overlap policy allows. ``--sequential`` asks for one slot at a time and waits for
  its run's Job to end before asking for the next.
* ``suspend``/``resume`` patch ``spec.suspend`` and ``almanac.dev/suspend-reason``.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import uuid
from datetime import datetime, timedelta
from typing import Any, Final

from almanac.cli.errors import CliError, NotFoundError
from almanac.cli.inputs import parse_instant
from almanac.cli.kube import Cluster, connected
from almanac.cli.sources import Facade, HistorySettings
from almanac.core.backfills import MAX_BACKFILL_SLOTS, backfill_value
from almanac.core.errors import InvalidInputError
from almanac.core.plan import compile_spec, slots_due
from almanac.core.resource import parse_spec
from almanac.core.runrequests import backfill_request, launch_of
from almanac.core.runs import job_name_of, observe_job
from almanac.core.vocabulary import (
    ANNOTATION_BACKFILL,
    ANNOTATION_RETRY,
    ANNOTATION_RUN_NOW,
    ANNOTATION_SUSPEND_REASON,
    GROUP,
)

__all__ = ["backfill_range", "resume", "retry_run", "run_now", "run_params", "suspend"]

_WAIT_INTERVAL: Final = 2.0
#: How long ``backfill --sequential`` waits for one run (its Job's deadline is the job's).
MAX_WAIT: Final = 6 * 3600.0


def _done(kind: str, name: str, what: str) -> None:
    print(f"scheduledjob.{GROUP}/{name} {what}" if kind == "sj" else f"{name} {what}")


async def run_now(args: argparse.Namespace) -> int:
    if args.key is not None and not args.key.strip():
        raise InvalidInputError("must not be empty", "--key")
    key = args.key or uuid.uuid4().hex
    payload = run_params(args.param)
    facade = HistorySettings.from_args(args.api, args.identity).facade()
    if payload and facade is None:
        raise InvalidInputError(
            "parameters for one run go through the REST facade, which checks them as a "
            "job's own (a run-now annotation carries none): add --api and --identity, or "
            "change the job's params",
            "--param",
        )
    async with connected(args) as cluster:
        obj = await cluster.scheduled_job(args.name)
        if facade is not None:
            answer = await facade.call(
                "POST",
                f"/jobs/{obj['metadata']['uid']}/run",
                {"payload": payload} if payload else None,
                headers={"Idempotency-Key": key},
            )
            _done("sj", args.name, f"run requested: {answer['run_id']} (key {key})")
            return 0
        await cluster.patch_scheduled_job(
            args.name, {"metadata": {"annotations": {ANNOTATION_RUN_NOW: key}}}
        )
    _done("sj", args.name, f"run requested (key {key}); see it with: almanac runs {args.name}")
    return 0


def run_params(pairs: list[str]) -> dict[str, Any]:
    """``--param k=v`` pairs as a payload: ``v`` as JSON when it parses (``n=3`` is a
    number, ``tags=["a"]`` a list), else as text."""
    payload: dict[str, Any] = {}
    for pair in pairs:
        name, sep, text = pair.partition("=")
        if not sep or not name.strip():
            raise InvalidInputError(f"{pair!r} is not K=V; e.g. --param format=csv", "--param")
        try:
            payload[name.strip()] = json.loads(text)
        except ValueError:
            payload[name.strip()] = text
    return payload


def _check_targets(args: argparse.Namespace) -> None:
    if bool(args.names) == bool(args.selector):
        raise InvalidInputError("name the ScheduledJobs or give -l SELECTOR (one of them)", "JOB")


async def _targets(cluster: Cluster, args: argparse.Namespace) -> list[str]:
    if args.names:
        return list(args.names)
    found = await cluster.scheduled_jobs(args.selector)
    if not found:
        raise CliError(f"no ScheduledJobs match {args.selector!r} in {cluster.namespace}", "")
    return [o["metadata"]["name"] for o in found]


async def suspend(args: argparse.Namespace) -> int:
    return await _set_suspend(args, suspended=True, reason=args.reason or None)


async def resume(args: argparse.Namespace) -> int:
    return await _set_suspend(args, suspended=False, reason=None)


async def _set_suspend(args: argparse.Namespace, *, suspended: bool, reason: str | None) -> int:
    """One merge patch per job: ``spec.suspend`` and the reason (removed on resume)."""
    _check_targets(args)
    patch = {
        "metadata": {"annotations": {ANNOTATION_SUSPEND_REASON: reason}},
        "spec": {"suspend": suspended},
    }
    async with connected(args) as cluster:
        for name in await _targets(cluster, args):
            await cluster.patch_scheduled_job(name, patch)
            _done("sj", name, "suspended" if suspended else "resumed")
    return 0


def _owner(job: dict[str, Any]) -> str:
    """The ScheduledJob a run's Job belongs to (its controller reference)."""
    for ref in job["metadata"].get("ownerReferences") or []:
        if ref.get("kind") == "ScheduledJob" and ref.get("controller"):
            return str(ref["name"])
    raise InvalidInputError(f"{job['metadata']['name']} is not a run of a ScheduledJob", "RUN")


async def retry_run(args: argparse.Namespace) -> int:
    facade = HistorySettings.from_args(args.api, args.identity).facade()
    if facade is not None:  # the facade finds runs whose Jobs were pruned, in the history
        answer = await facade.call("POST", f"/runs/{args.run}/retry")
        _done("run", args.run, f"retry requested: {answer['retry_run_id']}")
        return 0
    async with connected(args) as cluster:
        owner = _owner(await cluster.job(args.run))
        await cluster.patch_scheduled_job(
            owner, {"metadata": {"annotations": {ANNOTATION_RETRY: args.run}}}
        )
    _done("run", args.run, f"retry requested; see it with: almanac runs {owner}")
    return 0


async def backfill_range(args: argparse.Namespace) -> int:
    start, end = parse_instant(args.start, "--start"), parse_instant(args.end, "--end")
    if end < start:
        raise InvalidInputError("must not be before --start", "--end")
    facade = HistorySettings.from_args(args.api, args.identity).facade()
    async with connected(args) as cluster:
        obj = await cluster.scheduled_job(args.name)
        if not args.sequential:
            return await _backfill(cluster, facade, obj, start, end)
        for slot in _slots(obj, start, end):
            (run,) = await _ask(cluster, facade, obj, slot, slot)
            print(f"{run} {await _wait_for(cluster, run)}", flush=True)
    return 0


async def _backfill(
    cluster: Cluster, facade: Facade | None, obj: dict[str, Any], start: datetime, end: datetime
) -> int:
    runs = await _ask(cluster, facade, obj, start, end)
    _done("sj", obj["metadata"]["name"], f"backfill requested: {len(runs)} run(s)")
    for run in runs:
        print(run)
    return 0


async def _ask(
    cluster: Cluster, facade: Facade | None, obj: dict[str, Any], start: datetime, end: datetime
) -> list[str]:
    """Ask for the slots of ``[start, end]``: through the facade when configured, else by
    the annotation the operator turns into the same RunRequests. Returns the runs' names."""
    meta = obj["metadata"]
    if facade is not None:
        body = {"start": start.isoformat(), "end": end.isoformat()}
        answer = await facade.call("POST", f"/jobs/{meta['uid']}/backfill", body)
        return list(answer["runs"])
    slots = _slots(obj, start, end)
    value = backfill_value(start, end)
    await cluster.patch_scheduled_job(
        meta["name"], {"metadata": {"annotations": {ANNOTATION_BACKFILL: value}}}
    )
    return [_backfill_run(meta["name"], meta["uid"], slot) for slot in slots]


def _slots(obj: dict[str, Any], start: datetime, end: datetime) -> list[datetime]:
    """The job's slots in ``[start, end]``, as the operator (and the facade) will count
    them: checked here so a range the operator would refuse fails now, naming the flag."""
    compiled = compile_spec(parse_spec(obj.get("spec") or {}))
    if compiled is None:
        raise InvalidInputError("the job has no schedule to backfill", "JOB")
    slots = slots_due(compiled, start - timedelta(microseconds=1), end, MAX_BACKFILL_SLOTS + 1)
    if len(slots) > MAX_BACKFILL_SLOTS:
        raise InvalidInputError(f"holds more than {MAX_BACKFILL_SLOTS} slots; narrow it", "--end")
    return slots


def _backfill_run(name: str, uid: str, slot: datetime) -> str:
    """The run a backfill of ``slot`` starts (named from its RunRequest, as the facade's)."""
    request, spec = backfill_request(name, uid, slot)
    return job_name_of(name, uid, launch_of(request, spec))


async def _wait_for(cluster: Cluster, run: str) -> str:
    """Wait until the run's Job ends (the CLI's own wait: a user watching a backfill),
    at most :data:`MAX_WAIT`; a Job deleted after it was seen was pruned or replaced."""
    launched = False
    for _ in range(int(MAX_WAIT / _WAIT_INTERVAL)):
        try:
            seen = observe_job(await cluster.job(run))
        except NotFoundError:
            if launched:
                return "gone (pruned or replaced; see almanac runs)"
            seen = None  # not launched yet
        launched = launched or seen is not None
        if seen is not None and seen.finished:
            return seen.phase.value
        await asyncio.sleep(_WAIT_INTERVAL)
    raise CliError(f"run {run} did not end within {MAX_WAIT:.0f}s; see almanac runs", "")
