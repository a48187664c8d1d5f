"""The leader's side of ``spec.notifications``: decisions in, deliveries stored, sent.

A pass decides what to tell (:class:`~almanac.core.actions.Notify`, once per run: the
failure streak's mark); :meth:`Notifier.notify` takes it without waiting. The run's error
is in its pod's termination message, which the status writer reads when it announces the
run (:meth:`Notifier.finished`, chained to the scheduler's ``on_run_finished``); the
notifier joins the two, or after :data:`OUTCOME_WAIT` reads the pod itself. It then applies
the per-job rate limit (:class:`~almanac.core.notifyrules.NoticeBudget`), fans the notice
out to the job's entries (:func:`~almanac.notify.fanout.fan_out`) and stores the deliveries
in Postgres, from where the :class:`~almanac.notify.courier.Courier` sends them.

Exactly one message per run outcome and target: the decision is taken once per run, and a
repeated one (a pause asked again, a new leader recounting after a lost status write)
derives the same delivery ids, which the table stores once. Delivery is at least once
(:mod:`almanac.notify.deliveries`). One window loses a message: a leader killed after its
status write marked the run counted and before the deliveries reached Postgres (normally
well under a second); the runs' Kafka notices have the same window for the same reason.

Failures are logged (JSON, with the run), counted (``almanac_notifications_total``) and
posted as a Warning Event (``NotificationFailed``) on the ScheduledJob at the first failure
and when the courier gives up; none of it waits on, or holds up, a launch.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
from collections import OrderedDict, deque
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from typing import Final
from urllib.parse import urlsplit

from kubernetes_asyncio import client
from prometheus_client import Counter
from psycopg_pool import AsyncConnectionPool

from almanac.core.actions import Notify
from almanac.core.kafkanames import KafkaNames
from almanac.core.notifyrules import PAUSED, NoticeBudget, run_link
from almanac.core.runs import JobObservation
from almanac.core.topicpolicy import TopicAllowList
from almanac.core.vocabulary import EventReason
from almanac.notify.channels import Channels
from almanac.notify.courier import Courier
from almanac.notify.deliveries import Delivery, enqueue
from almanac.notify.fanout import fan_out
from almanac.notify.messages import Notice
from almanac.notify.noticesettings import NoticeSettings
from almanac.notify.publisher import Publisher
from almanac.notify.webhookguard import WebhookGuard

from .kube import Kube, ObjectRef, RunOutcome
from .logs import log
from .namespacecache import NamespaceCache
from .observability import Metrics
from .recording import run_record
from .tracked import Tracked

__all__ = ["Notifier"]

#: How long a decision waits for the status writer's read of the run's pod.
OUTCOME_WAIT: Final = timedelta(seconds=10)
#: Bounds: outcomes remembered, decisions and deliveries waiting, ids already told.
_OUTCOMES_KEPT: Final = 2000
_WAITING: Final = 10_000
_TOLD_KEPT: Final = 20_000

Finished = Callable[[Tracked, JobObservation, RunOutcome], None]


@dataclass
class _Decision:
    tracked: Tracked
    action: Notify
    until: datetime


class Notifier:
    """Turns Notify actions into stored deliveries and runs the courier (leader only)."""

    def __init__(
        self,
        kube: Kube,
        metrics: Metrics,
        settings: NoticeSettings,
        *,
        pool: Callable[[], AsyncConnectionPool | None],
        namespaces: NamespaceCache,
        kafka_names: KafkaNames,
        kafka: Publisher | None,
        retention: timedelta,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self._kube = kube
        self._settings = settings
        self._pool = pool
        self._clock = clock
        self.budget = NoticeBudget(settings.per_hour)
        self.counted = Counter(
            "almanac_notifications_total",
            "Notifications to people (spec.notifications) by channel and outcome: delivered, "
            "failed (retried), gave_up, suppressed (per-job rate limit).",
            ["channel", "outcome"],
            registry=metrics.registry,
        )
        self._decisions: deque[_Decision] = deque()
        self._outcomes: OrderedDict[tuple[str, str], RunOutcome] = OrderedDict()
        self._told: OrderedDict[tuple[str, str, str], None] = OrderedDict()
        self._ready: deque[Delivery] = deque(maxlen=_WAITING)
        self._wake = asyncio.Event()
        self._posting: set[asyncio.Task[None]] = set()
        guard = WebhookGuard(
            settings.webhook_allow, api_servers=_api_servers(kube), timeout=settings.timeout
        )

        async def topics(namespace: str) -> TopicAllowList:
            return (await namespaces.get(namespace)).topics

        channels = Channels(
            settings,
            webhook=guard,
            secrets=self._read_secret,
            kafka=kafka,
            topics=topics,
            names=kafka_names,
        )
        self.courier = Courier(
            pool,
            channels,
            max_attempts=settings.max_attempts,
            timeout=settings.timeout,
            retention=retention,
            on_outcome=lambda d, outcome: self.counted.labels(d.channel, outcome).inc(),
            on_failure=self._failed,
        )

    # -- what the scheduler calls (never waits) ---------------------------------------------

    def notify(self, t: Tracked, action: Notify) -> None:
        """A pass decided to tell ``action``; repeats of one decision are dropped here."""
        key = (t.ref.uid, action.run, PAUSED if action.paused else "run")
        if key in self._told or t.spec is None or not t.spec.notifications:
            return
        self._told[key] = None
        if len(self._told) > _TOLD_KEPT:
            self._told.popitem(last=False)
        if len(self._decisions) >= _WAITING:
            log.warning("notification dropped: backlog full", extra=_fields(t, action.run))
            return
        self._decisions.append(_Decision(t, action, self._clock() + OUTCOME_WAIT))
        self._wake.set()

    def chained(self, after: Finished | None) -> Finished:
        """The scheduler's ``on_run_finished``: remember the run's pod outcome, then call
        ``after`` (the ``after`` chains)."""

        def finished(t: Tracked, job: JobObservation, outcome: RunOutcome) -> None:
            if t.spec is not None and t.spec.notifications:
                self._outcomes[(t.ref.uid, job.name)] = outcome
                if len(self._outcomes) > _OUTCOMES_KEPT:
                    self._outcomes.popitem(last=False)
                self._wake.set()
            if after is not None:
                after(t, job, outcome)

        return finished

    # -- the loop ---------------------------------------------------------------------------

    async def run(self, stop: asyncio.Event) -> None:
        """Resolve decisions into deliveries and store them; the courier sends them."""
        courier = asyncio.create_task(self.courier.run(stop))
        try:
            while not stop.is_set():
                await self._resolve_due()
                await self._store()
                self._wake.clear()
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._wake.wait(), 1.0)
        finally:
            courier.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await courier

    async def _resolve_due(self) -> None:
        waiting: deque[_Decision] = deque()
        while self._decisions:
            decision = self._decisions.popleft()
            try:
                if not await self._resolve(decision):
                    waiting.append(decision)
            except Exception:
                log.exception("notification not prepared", extra=_fields(decision.tracked))
        self._decisions.extendleft(reversed(waiting))

    async def _resolve(self, d: _Decision) -> bool:
        """Fan the decision out once its outcome is known (False: wait longer)."""
        t, action = d.tracked, d.action
        spec, now = t.spec, self._clock()
        if spec is None or not spec.notifications:
            return True
        notice = Notice(
            t.ref.namespace,
            t.ref.name,
            t.ref.uid,
            PAUSED if action.paused else "run",
            now,
            run=action.run,
            link=run_link(self._settings.link_base, t.ref.uid, action.run),
            paused=action.paused,
        )
        if action.paused is None:
            job = action.observed
            outcome = self._outcomes.pop((t.ref.uid, action.run), None)
            if outcome is None and job is not None and now < d.until:
                return False
            if outcome is None and job is not None:
                outcome = await self._read_outcome(t.ref.namespace, action.run)
            if job is not None:
                record = run_record(t.ref, spec.template, job, outcome, retry=spec.retry)
                summary = (record.result or {}).get("summary")
                notice = replace(
                    notice,
                    at=record.finished_at or now,
                    attempt=record.attempt,
                    error=record.error,
                    summary=summary if isinstance(summary, str) else None,
                )
            allowed, held = self.budget.take(t.ref.uid, now)
            deliveries = fan_out(spec.notifications, notice, action.outcomes)
            if not allowed:
                for delivery in deliveries:
                    self.counted.labels(delivery.channel, "suppressed").inc()
                return True
            notice = replace(notice, suppressed=held)
        self._ready.extend(fan_out(spec.notifications, notice, action.outcomes))
        return True

    async def _read_outcome(self, namespace: str, job: str) -> RunOutcome:
        with contextlib.suppress(Exception):
            return await self._kube.run_outcome(namespace, job)
        return RunOutcome()

    async def _store(self) -> None:
        pool = self._pool()
        if not self._ready or pool is None:
            return
        batch = list(self._ready)
        try:
            await enqueue(pool, batch)
        except Exception as exc:  # Postgres down: kept (bounded), tried on the next round
            log.warning("notifications not stored yet", extra={"error": str(exc)})
            return
        for _ in batch:
            self._ready.popleft()
        self.courier.wake()

    # -- the courier's callbacks ------------------------------------------------------------

    def _failed(self, d: Delivery, error: str, last: bool) -> None:
        fields = d.log_fields() | {"error": error}
        log.warning("notification gave up" if last else "notification failed", extra=fields)
        if not (last or d.attempts == 1):
            return
        ref = ObjectRef(d.namespace, d.scheduledjob, d.scheduledjob_uid)
        what = "gave up" if last else "failed (retrying)"
        message = f"notification {d.entry} ({d.channel}) for run {d.run_name} {what}: {error}"

        async def post() -> None:
            with contextlib.suppress(Exception):
                await self._kube.post_event(
                    ref, EventReason.NOTIFICATION_FAILED, message, warning=True
                )

        task = asyncio.get_running_loop().create_task(post())
        self._posting.add(task)
        task.add_done_callback(self._posting.discard)

    async def _read_secret(self, namespace: str, name: str, key: str) -> str:
        secret = await client.CoreV1Api(self._kube.api).read_namespaced_secret(name, namespace)
        data = (secret.data or {}).get(key)
        if data is None:
            raise KeyError(key)
        return base64.b64decode(data).decode()


def _api_servers(kube: Kube) -> list[tuple[str, int]]:
    """The API server as this process reaches it (refused to webhooks whatever the list)."""
    url = urlsplit(str(kube.api.configuration.host))
    port = url.port or (443 if url.scheme == "https" else 80)
    return [(url.hostname, port)] if url.hostname else []


def _fields(t: Tracked, run: str | None = None) -> dict[str, object]:
    return {"scheduledjob": f"{t.ref.namespace}/{t.ref.name}", "uid": t.ref.uid, "job": run}
