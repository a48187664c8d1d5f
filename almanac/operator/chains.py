"""``after`` triggers: a finished upstream run becomes runs of the ScheduledJobs that
follow it.

The writer announces each finished run once per process (:meth:`AfterChains.chain`); each
follower's runs are recorded as RunRequests (or Jobs) named from the upstream run, so
recording them twice is harmless. A transient API error is tried again, with the trigger
errors' backoff and then every half minute, until the runs are recorded or the upstream
run is older than the RunRequests' retention (their dedup window); a refusal for good (the
mapping fails, the template refuses the params, the API server refuses the record) is
counted ``failed`` on the trigger with the reason. One failure used to drop the chain.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from datetime import UTC, datetime, timedelta

from almanac.core.errors import AlmanacError
from almanac.core.routecheck import check_of
from almanac.core.runrequests import EventSource, RunRequestSpec
from almanac.core.runs import JobObservation
from almanac.core.triggers import CompiledTrigger, after_event, after_matches, assemble_runs

from .evaluation import Evaluator
from .kube import RunOutcome
from .logs import log
from .recording import parse_result
from .scheduler import Scheduler
from .tracked import Tracked
from .triggererrors import retried
from .triggerroutes import fields_of, specs_of

__all__ = ["AfterChains"]

#: Between two rounds of attempts, once the trigger errors' backoff is used up (seconds).
RETRY_PAUSE = 30.0
#: Records one run (a Job or a RunRequest); True when it was new.
Store = Callable[[Tracked, str, RunRequestSpec], Awaitable[bool]]


class AfterChains:
    def __init__(
        self,
        scheduler: Scheduler,
        evaluator: Evaluator,
        store: Store,
        *,
        retention: timedelta,
        backoff: Sequence[float],
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        self._scheduler = scheduler
        self._evaluator = evaluator
        self._store = store
        self._retention = retention
        self._backoff = backoff
        self._clock = clock
        self._sleep = sleep
        self._chained: set[str] = set()
        self._tasks: set[asyncio.Task[None]] = set()

    def chain(self, upstream: Tracked, job: JobObservation, outcome: RunOutcome) -> None:
        """A run finished: ScheduledJobs that run ``after`` it get their runs."""
        if job.name in self._chained or job.completion_time is None:
            return
        if self._clock() - job.completion_time > self._retention:
            return  # older than the dedup window: its RunRequests may be gone already
        self._chained.add(job.name)
        for t in self._scheduler.objects():
            if t.ref.namespace != upstream.ref.namespace or t.spec is None or t.error:
                continue
            for trigger in t.triggers:
                if trigger.after is None or trigger.after[0] != upstream.ref.name:
                    continue
                if not after_matches(trigger.after[1], job.phase.value):
                    continue
                task = asyncio.create_task(self.follow(t, trigger, upstream, job, outcome))
                self._tasks.add(task)
                task.add_done_callback(self._tasks.discard)

    async def follow(
        self,
        t: Tracked,
        trigger: CompiledTrigger,
        upstream: Tracked,
        job: JobObservation,
        outcome: RunOutcome,
    ) -> None:
        """Record the runs ``trigger`` of ``t`` asks for after ``job``, retrying transient
        errors until they are recorded, refused for good, or past the retention."""
        event_id = f"{upstream.ref.uid}/{job.name}"
        fields = fields_of(t, event_id)
        assert job.completion_time is not None
        while True:
            try:
                await self._record(t, trigger, upstream, job, outcome, event_id=event_id)
                return
            except AlmanacError as exc:
                error = f"after {job.name}: {exc}"
            except Exception as exc:
                if self._clock() - job.completion_time <= self._retention:
                    log.warning(
                        "after trigger not recorded yet; retrying",
                        extra=fields | {"error": str(exc)},
                    )
                    await self._sleep(RETRY_PAUSE)
                    continue
                error = f"after {job.name}: gave up past the retention window ({exc})"
                log.error("after trigger dropped", extra=fields | {"error": str(exc)})
            self._scheduler.count_trigger(t, trigger.name, "failed", error)
            return

    async def _record(
        self,
        t: Tracked,
        trigger: CompiledTrigger,
        upstream: Tracked,
        job: JobObservation,
        outcome: RunOutcome,
        *,
        event_id: str,
    ) -> None:
        result, _ = parse_result(outcome.message)
        event = after_event(upstream.ref.name, job.name, job.phase.value, result, outcome.exit_code)
        (verdict,) = await self._evaluator.evaluate(event, [check_of("after", None, trigger)])
        if verdict.failure is not None:
            raise verdict.failure
        planned = assemble_runs(
            trigger,
            key=None,
            params=verdict.params,
            scheduled_job=t.ref.name,
            uid=t.ref.uid,
            event_id=event_id,
            received_at=job.completion_time or self._clock(),
        )
        source = EventSource(id=event_id, type=f"run.{job.phase.value.lower()}")
        created: list[bool] = []
        for create in specs_of(
            t, trigger=trigger.name, kind="after", planned=planned, source=source, event=event
        ):

            async def attempt(name: str = create.name, spec: RunRequestSpec = create.spec) -> None:
                created.append(await self._store(t, name, spec))

            refusal = await retried(
                attempt,
                fields=fields_of(t, event_id) | {"request": create.name},
                delays=self._backoff,
            )
            if refusal is not None:
                raise AlmanacError(refusal.reason)
        if any(created):  # a re-announced run (new leader) is not counted twice
            self._scheduler.count_trigger(t, trigger.name, "received")
            self._scheduler.count_trigger(t, trigger.name, "matched")
