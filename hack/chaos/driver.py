"""The chaos suite's caller: run-now and retry requests and events through the facade,
on a steady beat while the faults strike, each recorded with the facade's answer for
:mod:`hack.chaos.asked` to count against the Jobs.

On every beat (2 s; the long profile's 4 s) one of: a run-now with a new idempotency key
(every other one sent twice, the second time two seconds later: the same run must
answer), an event (``now``, ``delay`` or ``seq`` in turn; every fifth published again
under its id; every second ``seq`` key cancelled three seconds later), a retry of a
finished manual run, or a job made through the facade (sent twice under one idempotency
key: one job must result). Each request is its own task, so one the facade is slow to
answer does not hold the beat.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Final

import httpx

from hack.chaos.asked import Ask, EventSent
from hack.chaos.facade import FacadeClient
from hack.chaos.recorders import JobLedger

__all__ = ["EVENT_KINDS", "Driver", "made_name"]

BEAT: Final = 2.0
EVENT_KINDS: Final = ("now", "delay", "seq")
#: A run-now and an event sent again after this long, under the same key or id.
AGAIN_AFTER: Final = 2.0
#: A cancelled ``seq`` key's cancel follows its event by this long (well before step 1).
CANCEL_AFTER: Final = 3.0
#: The template of the jobs made through the facade (the suite's own).
TEMPLATE: Final = "chaos-script"


def made_name(key: str) -> str:
    """The display name of the job made with idempotency key ``key``."""
    return f"made-{key[:12]}"


@dataclass
class Driver:
    client: FacadeClient
    #: The facade's id (the ScheduledJob's uid) of the job run-now and retries go to.
    manual_job_id: str
    ledger: JobLedger
    manual: list[Ask] = field(default_factory=list)
    retries: list[Ask] = field(default_factory=list)
    #: Job creates (``ident``: the idempotency key, ``run_id``: the job id answered).
    creates: list[Ask] = field(default_factory=list)
    events: list[EventSent] = field(default_factory=list)
    beat: float = BEAT
    _retried: set[str] = field(default_factory=set)
    _tasks: list[asyncio.Task[None]] = field(default_factory=list)

    async def run(self, until: float) -> None:
        """Ask on the beat until the monotonic ``until``, then wait for every answer."""
        async with httpx.AsyncClient() as http:
            beat = 0
            while time.monotonic() < until:
                self._tasks.append(asyncio.create_task(self._ask(http, beat)))
                beat += 1
                await asyncio.sleep(self.beat)
            await asyncio.gather(*self._tasks)

    async def _ask(self, http: httpx.AsyncClient, beat: int) -> None:
        if beat % 4 == 0:
            await self._run_now(http, twice=beat % 8 == 0)
        elif beat % 10 == 5:
            await self._retry(http)
        elif beat % 10 == 7:
            await self._create(http)
        else:
            kind = EVENT_KINDS[beat % len(EVENT_KINDS)]
            await self._event(
                http, kind, again=beat % 5 == 1, cancel=kind == "seq" and beat % 2 == 0
            )

    async def _run_now(self, http: httpx.AsyncClient, *, twice: bool) -> None:
        key = uuid.uuid4().hex
        for sending in range(2 if twice else 1):
            if sending:
                await asyncio.sleep(AGAIN_AFTER)
            path = f"/jobs/{self.manual_job_id}/run"
            answer = await self.client.post(http, path, key=key)
            run_id = answer.body.get("run_id") if answer.body else None
            self.manual.append(Ask(key, run_id, answer.refused))

    async def _create(self, http: httpx.AsyncClient) -> None:
        """A job made through the facade, sent twice under one key (the second send is
        what a caller does whose answer was lost)."""
        key = uuid.uuid4().hex
        body = {"name": made_name(key), "schedule": "0 0 1 1 *", "type": TEMPLATE, "payload": {}}
        for sending in range(2):
            if sending:
                await asyncio.sleep(AGAIN_AFTER)
            answer = await self.client.post(http, "/jobs", body, key=key)
            job_id = answer.body.get("id") if answer.body else None
            self.creates.append(Ask(key, job_id, answer.refused))

    async def _retry(self, http: httpx.AsyncClient) -> None:
        """Retry a manual run the ledger shows finished and not retried yet (if any)."""
        finished = [
            run.job
            for run in self.ledger.runs()
            if run.trigger == "manual" and run.outcome is not None and run.job not in self._retried
        ]
        if not finished:
            return
        target = min(finished)
        self._retried.add(target)
        answer = await self.client.post(http, f"/runs/{target}/retry")
        run_id = answer.body.get("retry_run_id") if answer.body else None
        self.retries.append(Ask(target, run_id, answer.refused))

    async def _event(
        self, http: httpx.AsyncClient, kind: str, *, again: bool, cancel: bool
    ) -> None:
        event_id = key = uuid.uuid4().hex
        await self._publish(http, event_id, kind, key)
        if again:
            await asyncio.sleep(AGAIN_AFTER)
            await self._publish(http, event_id, kind, key)
        if cancel:
            await asyncio.sleep(CANCEL_AFTER)
            await self._publish(http, uuid.uuid4().hex, "cancel", key)

    async def _publish(self, http: httpx.AsyncClient, event_id: str, kind: str, key: str) -> None:
        at = datetime.now(UTC)
        body = {"id": event_id, "type": f"chaos.{kind}", "data": {"k": key}, "key": key}
        answer = await self.client.post(http, "/events", body)
        self.events.append(EventSent(event_id, kind, key, at, answer.body is not None))
