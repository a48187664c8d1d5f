"""Kopf handlers: low-level ``on.event`` feeds into the scheduler, nothing else (Jobs and
RunRequests come through the operator's own watch, ``watch``).

``on.event`` writes no annotations, progress or finalizers onto user objects (GitOps sees
no drift, invariant no-drift) and returns ``None`` (a return value would land in status). The
handlers are ``async`` although they never await: Kopf runs plain functions in a thread
pool, and that hop per watch event was most of the operator's CPU at a thousand Jobs.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

import kopf

from almanac.core.errors import AlmanacError
from almanac.core.templates import JobTemplateSpec
from almanac.core.vocabulary import (
    CLUSTER_JOB_TEMPLATES,
    GROUP,
    JOB_TEMPLATES,
    SCHEDULED_JOBS,
    VERSION,
)

from .logs import log
from .scheduler import Scheduler

__all__: list[str] = []


def _scheduler(memo: kopf.Memo) -> Scheduler:
    scheduler: Scheduler = memo["scheduler"]
    return scheduler


@kopf.on.event(GROUP, VERSION, SCHEDULED_JOBS)
async def scheduledjob_event(
    event: kopf.RawEvent, body: kopf.Body, memo: kopf.Memo, **_: Any
) -> None:
    scheduler = _scheduler(memo)
    if event["type"] == "DELETED":
        scheduler.forget(body["metadata"]["namespace"], body["metadata"]["name"])
    else:
        scheduler.upsert(dict(event["object"]))


@kopf.on.cleanup()
async def stopping(memo: kopf.Memo, **_: Any) -> None:
    """Kopf took over SIGTERM: tell the tasks outside Kopf (the trigger consumer) to stop,
    or Kopf would wait on the tasks they spawned for ever, and wind them down now."""
    stop: asyncio.Event = memo["stopping"]
    stop.set()
    wind_down: Callable[[], Awaitable[None]] = memo["wind_down"]
    await wind_down()


def _template(event: kopf.RawEvent, memo: kopf.Memo, namespace: str) -> None:
    obj = event["object"]
    name = obj["metadata"]["name"]
    spec: JobTemplateSpec | None = None
    if event["type"] != "DELETED":
        try:
            spec = JobTemplateSpec.model_validate(obj.get("spec") or {})
        except (AlmanacError, ValueError) as exc:
            log.warning("template ignored", extra={"template": name, "error": str(exc)})
    _scheduler(memo).template_event(namespace, name, spec)


@kopf.on.event(GROUP, VERSION, JOB_TEMPLATES)
async def jobtemplate_event(event: kopf.RawEvent, memo: kopf.Memo, **_: Any) -> None:
    _template(event, memo, event["object"]["metadata"]["namespace"])


@kopf.on.event(GROUP, VERSION, CLUSTER_JOB_TEMPLATES)
async def clusterjobtemplate_event(event: kopf.RawEvent, memo: kopf.Memo, **_: Any) -> None:
    _template(event, memo, "")
