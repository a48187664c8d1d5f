"""Composition root of the operator process (``python -m almanac operator``).

Order: logs, API client, probes; wait for the Lease; then Kopf (standalone: peering is
not leader election) and the scheduler run until a signal or the Lease is lost. A lost
Lease ends the process at once with exit status 1 (invariant one-scheduler); a clean stop
releases it.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import os
import signal
import sys
from typing import Any

import kopf
import uvloop
from aiohttp import web

from almanac import __version__
from almanac.core.errors import AlmanacError
from almanac.core.vocabulary import (
    CLUSTER_JOB_TEMPLATES,
    JOB_TEMPLATES,
    LABEL_SCHEDULED_JOB_UID,
    SCHEDULED_JOBS,
)
from almanac.kafkasecurity import KafkaSecurity
from almanac.notify import KafkaPublisher
from almanac.tracing import open_tracing

from . import handlers  # noqa: F401 - registers the Kopf handlers
from .certs import ca_bundle
from .config import OperatorConfig
from .dispatch import job_patcher
from .fencing import install_fence
from .history import STOP_SECONDS, HistoryService
from .kopftuning import kopf_settings
from .kube import Kube, load_api_client
from .launchgate import PriorityClasses, priority_class_lister
from .launchqueue import QueueSetup
from .leader import LeaseElector
from .logs import configure_logging, log
from .namespacecache import NamespaceCache
from .notifier import Notifier
from .observability import Metrics, Probes, start_probe_server
from .parking import EventParking
from .runtraces import RunTraces
from .scheduler import Scheduler
from .settings import OperatorSettings
from .triggers import TriggerService
from .watch import Handler, Lister, ResourceWatch, custom_lister, job_lister, run_request_lister
from .webhookconfig import apply_webhook_configuration, webhook_configuration
from .webhookserver import start_webhook_server

__all__ = ["run"]

LABEL_SELECTOR = LABEL_SCHEDULED_JOB_UID


def _dump_tasks() -> None:
    """``kill -USR1``: log where every task of the loop waits (a stuck await shows)."""
    for task in asyncio.all_tasks():
        log.warning("task", extra={"task": task.get_name(), "where": _awaiting(task.get_coro())})


def _awaiting(coro: Any) -> str:
    """The chain of awaits of a suspended coroutine, outermost first (the task's stack
    shows only the innermost frame)."""
    chain: list[str] = []
    while coro is not None and len(chain) < 16:
        frame = getattr(coro, "cr_frame", None) or getattr(coro, "gi_frame", None)
        name = getattr(coro, "__qualname__", type(coro).__name__)
        chain.append(f"{name}:{frame.f_lineno}" if frame else name)
        coro = getattr(coro, "cr_await", None) or getattr(coro, "gi_yieldfrom", None)
    return " -> ".join(chain)


def _lost() -> None:
    log.error("stopping: lease lost, another replica schedules now")
    os._exit(1)


class Leading:
    """What runs while this replica holds the Lease: scheduling, the watches, the trigger
    consumer, the Lease renewal and the history tasks."""

    def __init__(
        self,
        tasks: tuple[asyncio.Task[Any], ...],
        history: HistoryService,
        elector: LeaseElector,
        metrics: Metrics,
    ) -> None:
        self._tasks = tasks
        self._history = history
        self._elector = elector
        self._metrics = metrics
        self._wound_down = False

    @classmethod
    def start(
        cls,
        config: OperatorConfig,
        kube: Kube,
        *,
        scheduler: Scheduler,
        triggers: TriggerService,
        history: HistoryService,
        elector: LeaseElector,
        metrics: Metrics,
        stop: asyncio.Event,
        notifier: Notifier | None = None,
    ) -> Leading:
        # The fence, not the flag: a leader frozen past its Lease stops saying it leads.
        metrics.is_leader.set_function(lambda: int(elector.holds()))
        history.start()
        namespaced = list(config.namespaces)
        registry = scheduler.registry
        watches: tuple[tuple[str, Lister, str, list[str], Handler], ...] = (
            (
                "scheduledjob",
                custom_lister(kube.api, SCHEDULED_JOBS),
                "",
                namespaced,
                scheduler.scheduledjob_event,
            ),
            (
                "jobtemplate",
                custom_lister(kube.api, JOB_TEMPLATES),
                "",
                namespaced,
                functools.partial(registry.template_body, cluster=False),
            ),
            (
                "clusterjobtemplate",
                custom_lister(kube.api, CLUSTER_JOB_TEMPLATES, cluster=True),
                "",
                [],
                functools.partial(registry.template_body, cluster=True),
            ),
            ("job", job_lister(kube.api), LABEL_SELECTOR, namespaced, scheduler.job_event),
            (
                "runrequest",
                run_request_lister(kube.api),
                LABEL_SELECTOR,
                namespaced,
                scheduler.request_event,
            ),
        )
        watching = [
            asyncio.create_task(
                ResourceWatch(
                    lister,
                    selector,
                    scope,
                    handle,
                    scheduler.launches_done,
                    kind=kind,
                    on_listed=functools.partial(scheduler.listed, kind),
                ).run()
            )
            for kind, lister, selector, scope, handle in watches
        ]
        tasks = (
            asyncio.create_task(elector.keep(on_lost=_lost)),
            asyncio.create_task(scheduler.run()),
            asyncio.create_task(triggers.run(stop)),
            *watching,
            *([asyncio.create_task(notifier.run(stop))] if notifier else []),
        )
        return cls(tasks, history, elector, metrics)

    async def wind_down(self) -> None:
        """Stop scheduling, flush the history and give the Lease back, once. Kopf's cleanup
        handler calls it: Kopf then waits up to 5 s for the tasks started while it ran,
        and after this none of ours are left, so a stop takes well under a second."""
        if self._wound_down:
            return
        self._wound_down = True
        for task in self._tasks:
            task.cancel()
        await asyncio.wait(self._tasks, timeout=STOP_SECONDS)
        await self._history.aclose()
        await self._elector.release()
        self._metrics.is_leader.set_function(lambda: 0)


async def run(settings: OperatorSettings) -> None:
    tracing = open_tracing(os.environ, "almanac-operator")
    try:
        await _run(settings, RunTraces(tracing))
    finally:  # the last runs' spans leave before the process does (bounded)
        await asyncio.to_thread(tracing.shutdown)


async def _run(settings: OperatorSettings, traces: RunTraces) -> None:
    config, trigger_settings = settings.process, settings.triggers
    metrics = Metrics()
    metrics.jobs.limit = config.job_metrics_limit
    history = await HistoryService.open(metrics, settings=settings.history, notify=settings.notify)
    if traces.enabled:
        history.recorder.on_record = traces.observed
        history.recorder.buffer.on_written = traces.stored
        history.on_published = traces.published
    api = await load_api_client()
    install_fence(api)
    kube = Kube(api, component="almanac-operator")
    kube.log_limits = settings.history.logs
    elector = LeaseElector(
        kube.coordination,
        namespace=config.lease_namespace,
        name=config.lease_name,
        identity=config.identity,
    )
    scheduler = Scheduler(
        kube,
        metrics,
        image=config.image,
        pull_secrets=config.run_image_pull_secrets,
        concurrency=config.launch_concurrency,
        run_env=dict(config.run_env),
        recorder=history.recorder,
        event_record_window=trigger_settings.retention,
        namespaces=NamespaceCache(kube.namespace_policy),
        fence=elector.holds,
        queue=QueueSetup(
            settings.limits.limits,
            PriorityClasses(priority_class_lister(kube.api)),
            job_patcher(kube.api),
        ),
    )
    history.on_health_change = scheduler.poke_all
    history.recorder.buffer.hold = scheduler.launches_done
    parking = EventParking(history.recorder.buffer.store.record_dead_letter)
    triggers = TriggerService(kube, scheduler, metrics, trigger_settings, parking=parking)
    notifier = _notifier(settings, kube, metrics, history, scheduler)
    probes = Probes(metrics, lambda: elector.is_leader, lambda: scheduler.last_tick)
    runner = await start_probe_server(probes, config.metrics_port)
    webhook = await _start_webhook(config, kube)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    loop.add_signal_handler(signal.SIGUSR1, _dump_tasks)
    log.info(
        "waiting for the lease",
        extra={
            "leader": config.identity,
            "lease": f"{config.lease_namespace}/{config.lease_name}",
            "version": __version__,
        },
    )
    acquiring = asyncio.create_task(elector.acquire())
    stopping = asyncio.create_task(stop.wait())
    await asyncio.wait({acquiring, stopping}, return_when=asyncio.FIRST_COMPLETED)
    if stop.is_set():
        acquiring.cancel()
        await _cleanup(runner, webhook)
        await history.aclose()
        await kube.close()
        return
    leading = Leading.start(
        config,
        kube,
        scheduler=scheduler,
        triggers=triggers,
        history=history,
        elector=elector,
        metrics=metrics,
        stop=stop,
        notifier=notifier,
    )
    try:
        await kopf.operator(
            standalone=True,
            clusterwide=not config.namespaces,
            namespaces=config.namespaces,
            memo=kopf.Memo(scheduler=scheduler, stopping=stop, wind_down=leading.wind_down),
            settings=kopf_settings(config),
            stop_flag=stop,
        )
    finally:
        await leading.wind_down()
        await _cleanup(runner, webhook)
        await kube.close()


def _notifier(
    settings: OperatorSettings,
    kube: Kube,
    metrics: Metrics,
    history: HistoryService,
    scheduler: Scheduler,
) -> Notifier:
    """``spec.notifications``: the leader's notifier, fed by the passes' Notify actions and
    the status writer's reads of finished runs (ahead of the ``after`` chains)."""
    bootstrap = settings.notify.bootstrap
    kafka = (
        KafkaPublisher(bootstrap, security=KafkaSecurity.from_env(os.environ))
        if bootstrap
        else None
    )
    assert scheduler.namespaces is not None
    notifier = Notifier(
        kube,
        metrics,
        settings.notices,
        pool=lambda: history.history.pool if history.history is not None else None,
        namespaces=scheduler.namespaces,
        kafka_names=settings.process.kafka_names,
        kafka=kafka,
        retention=settings.history.retention,
    )
    scheduler.notify = notifier.notify
    scheduler.on_run_finished = notifier.chained(scheduler.on_run_finished)
    return notifier


async def _start_webhook(config: OperatorConfig, kube: Kube) -> web.AppRunner | None:
    """Every replica serves admission, leader or not (the API server may call any)."""
    if not config.webhook_port:
        return None
    writers = (await kube.whoami(), *config.webhook_trusted_users)

    async def register() -> None:
        if config.webhook_url:
            body = webhook_configuration(
                ca_bundle(config.webhook_cert_dir),
                url=config.webhook_url,
                failure_policy=config.webhook_failure_policy,
                trusted_users=config.webhook_trusted_users,
                run_request_writers=writers,
            )
            await apply_webhook_configuration(kube.api, body)

    runner = await start_webhook_server(
        config.webhook_port,
        config.webhook_cert_dir,
        list(config.webhook_hosts),
        bind=config.webhook_bind,
        manage_certs=config.webhook_manage_certs,
        reuse_port=True,
        on_ca_changed=register,
        chains=kube.scheduled_job_specs,
        kafka_names=config.kafka_names,
        access=kube.may,
        writers=frozenset(writers),
        namespaces=kube.namespace_policy,
        templates=kube.template_rules,
        priorities=PriorityClasses(priority_class_lister(kube.api)).exists,
    )
    await register()
    log.info("admission webhook serving", extra={"port": config.webhook_port})
    return runner


async def _cleanup(*runners: web.AppRunner | None) -> None:
    for runner in runners:
        if runner is not None:
            await runner.cleanup()


def main() -> int:
    """Run until stopped; a configuration mistake exits 2 with one line naming the setting."""
    configure_logging()
    try:
        settings = OperatorSettings.from_env()
        logging.getLogger().setLevel(settings.process.log_level.upper())
        # libuv's loop: the launch bursts and the Job watch are mostly loop and socket work.
        uvloop.run(run(settings))
    except AlmanacError as exc:
        log.error("cannot start: %s", exc, extra={"field": exc.field})
        print(f"almanac operator: {exc}", file=sys.stderr)
        return 2
    return 0
