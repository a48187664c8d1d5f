"""Composition root of the operator process (``python -m almanac operator``).

Order: logs, API client, probes; wait for the Lease; then Kopf (standalone: peering is
not leader election) and the scheduler run until a signal or the Lease is lost. A lost
Lease ends the process at once with exit status 1 (invariant 2); a clean stop releases it.
"""

from __future__ import annotations

import asyncio
import logging
import os
import signal
import sys

import kopf
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
from .webhook import start_webhook_server
from .webhookconfig import apply_webhook_configuration, webhook_configuration

__all__ = ["run"]

LABEL_SELECTOR = "almanac.dev/scheduledjob-uid"


def _kopf_settings(config: OperatorConfig) -> kopf.OperatorSettings:
    settings = kopf.OperatorSettings()
    settings.watching.label_selectors["batch", "v1", "jobs"] = LABEL_SELECTOR
    settings.scanning.disabled = True
    settings.posting.enabled = False
    settings.watching.server_timeout = 300
    settings.watching.client_timeout = 330
    return settings


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
    )
    history.on_health_change = scheduler.poke_all
    triggers = TriggerService(kube, scheduler, metrics, trigger_settings)
    probes = Probes(metrics, lambda: elector.is_leader, lambda: scheduler.last_tick)
    runner = await start_probe_server(probes, config.metrics_port)
    webhook = await _start_webhook(config, kube)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
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
        for task in (ticking, keeper, triggering):
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
        asyncio.run(run(config))
    except AlmanacError as exc:
        log.error("cannot start: %s", exc, extra={"field": exc.field})
        print(f"almanac operator: {exc}", file=sys.stderr)
        return 2
    return 0
