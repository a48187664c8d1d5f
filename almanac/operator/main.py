"""Composition root of the operator process (``python -m almanac operator``).

Order: logs, API client, probes; wait for the Lease; then Kopf (standalone: peering is
not leader election) and the scheduler run until a signal or the Lease is lost. A lost
Lease ends the process at once with exit status 1 (invariant 2); a clean stop releases it.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import os
import signal
import sys
from collections.abc import Iterable
from typing import Any

import kopf
import uvloop
from aiohttp import web

from almanac.core.errors import AlmanacError

from . import handlers  # noqa: F401 - registers the Kopf handlers
from .certs import ca_bundle
from .config import OperatorConfig
from .history import HistoryService
from .kube import Kube, load_api_client
from .leader import LeaseElector
from .logs import configure_logging, log
from .observability import Metrics, Probes, start_probe_server
from .scheduler import Scheduler
from .triggers import TriggerService, TriggerSettings
from .watch import ResourceWatch, job_lister, run_request_lister
from .webhook import start_webhook_server
from .webhookconfig import apply_webhook_configuration, webhook_configuration

__all__ = ["run"]

LABEL_SELECTOR = "almanac.dev/scheduledjob-uid"


class NoDiffBase(kopf.DiffBaseStorage):
    """Kopf's default diff base deep-copies every object on every watch event to diff it
    against the last handled state; only change handlers read that diff and Almanac has
    none (``on.event`` only), so nothing is built, stored or fetched. At a thousand
    launches the copies were a fifth of the operator's CPU during the burst."""

    def build(
        self, *, body: kopf.Body, extra_fields: Iterable[Any] | None = None
    ) -> kopf.BodyEssence:
        return kopf.BodyEssence()

    def fetch(self, *, body: kopf.Body) -> kopf.BodyEssence | None:
        return None

    def store(self, *, body: kopf.Body, patch: kopf.Patch, essence: kopf.BodyEssence) -> None:
        return None


def _kopf_settings(config: OperatorConfig) -> kopf.OperatorSettings:
    settings = kopf.OperatorSettings()
    settings.persistence.diffbase_storage = NoDiffBase()
    settings.scanning.disabled = True
    settings.posting.enabled = False
    # Bounded waits: a watch or request that hangs (e.g. after a CRD update, while the API
    # server rebuilds that resource's storage) is retried within seconds, not after
    # Kopf's defaults (70 s of inactivity per attempt, 300 s per request).
    settings.watching.server_timeout = 60
    settings.watching.client_timeout = 90
    settings.watching.inactivity_timeout = 20
    settings.watching.connect_timeout = 10
    settings.networking.connect_timeout = 10
    settings.networking.request_timeout = 60
    settings.networking.error_backoffs = [0.5, 1, 2, 4, 8, 8, 8]
    return settings


def _dump_tasks() -> None:
    """``kill -USR1``: log where every task of the loop waits (a stuck await shows)."""
    for task in asyncio.all_tasks():
        stack = task.get_stack(limit=12)
        where = " <- ".join(f"{f.f_code.co_name}:{f.f_lineno}" for f in reversed(stack))
        log.warning("task", extra={"task": task.get_name(), "where": where})


def _lost() -> None:
    log.error("stopping: lease lost, another replica schedules now")
    os._exit(1)


async def run(config: OperatorConfig) -> None:
    metrics = Metrics()
    trigger_settings = TriggerSettings.from_env()
    history = await HistoryService.open(metrics)
    kube = Kube(await load_api_client(), component="almanac-operator")
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
        concurrency=config.launch_concurrency,
        run_env=dict(config.run_env),
        recorder=history.recorder,
        event_record_window=trigger_settings.retention,
    )
    history.on_health_change = scheduler.poke_all
    history.recorder.buffer.hold = scheduler.launches_done
    triggers = TriggerService(kube, scheduler, metrics, trigger_settings)
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
        extra={"leader": config.identity, "lease": f"{config.lease_namespace}/{config.lease_name}"},
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
    metrics.is_leader.set(1)
    history.start()
    keeper = asyncio.create_task(elector.keep(on_lost=_lost))
    ticking = asyncio.create_task(scheduler.run())
    triggering = asyncio.create_task(triggers.run(stop))
    namespaces = list(config.namespaces)
    watching = [
        asyncio.create_task(
            ResourceWatch(
                lister(kube.api),
                LABEL_SELECTOR,
                namespaces,
                handle,
                scheduler.launches_done,
                kind=kind,
                on_listed=functools.partial(scheduler.listed, kind),
            ).run()
        )
        for kind, lister, handle in (
            ("job", job_lister, scheduler.job_event),
            ("runrequest", run_request_lister, scheduler.request_event),
        )
    ]
    try:
        await kopf.operator(
            standalone=True,
            clusterwide=not config.namespaces,
            namespaces=config.namespaces,
            memo=kopf.Memo(scheduler=scheduler, stopping=stop),
            settings=_kopf_settings(config),
            stop_flag=stop,
        )
    finally:
        for task in (ticking, keeper, triggering, *watching):
            task.cancel()
        await history.aclose()
        await elector.release()
        metrics.is_leader.set(0)
        await _cleanup(runner, webhook)
        await kube.close()


async def _start_webhook(config: OperatorConfig, kube: Kube) -> web.AppRunner | None:
    """Every replica serves admission, leader or not (the API server may call any)."""
    if not config.webhook_port:
        return None

    async def register() -> None:
        if config.webhook_url:
            body = webhook_configuration(
                ca_bundle(config.webhook_cert_dir),
                url=config.webhook_url,
                failure_policy=config.webhook_failure_policy,
                trusted_users=config.webhook_trusted_users,
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
        config = OperatorConfig.from_env()
        logging.getLogger().setLevel(config.log_level.upper())
        # libuv's loop: the launch bursts and the Job watch are mostly loop and socket work.
        uvloop.run(run(config))
    except AlmanacError as exc:
        log.error("cannot start: %s", exc, extra={"field": exc.field})
        print(f"almanac operator: {exc}", file=sys.stderr)
        return 2
    return 0
