"""The webhook's HTTPS server: every replica serves admission, leader or not.

The handlers only read the body and write what :func:`~.webhook.respond` decides; the
serving certificate is made and rotated here (or provided and reloaded), and a changed CA
is handed to ``on_ca_changed`` so the configuration's ``caBundle`` follows.
"""

from __future__ import annotations

import asyncio
import ssl
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Final

from aiohttp import web

from almanac.core.errors import AlmanacError
from almanac.core.kafkanames import DEFAULT_NAMES, KafkaNames

from .admissionreads import NamespaceLookup, PriorityLookup, TemplateLookup
from .certs import (
    CA_CERT,
    SERVING_CERT,
    SERVING_KEY,
    create_ssl_context,
    ensure_certificates,
    reload_ssl_context,
)
from .deputy import AccessCheck
from .logs import log
from .webhook import (
    MAX_BODY,
    RUNREQUESTS_PATH,
    SCHEDULEDJOBS_PATH,
    TEMPLATES_PATH,
    ChainLookup,
    error_body,
    respond,
)

__all__ = ["create_app", "start_webhook_server"]


async def _validate(request: web.Request) -> web.Response:
    try:
        status, body = await respond(
            await request.read(),
            request.app.get(CHAINS),
            request.app[KAFKA_NAMES],
            access=request.app.get(ACCESS),
            writers=request.app[WRITERS],
            namespaces=request.app.get(NAMESPACES),
            templates=request.app.get(TEMPLATES),
            priorities=request.app.get(PRIORITIES),
        )
    except Exception:  # the top of one request: log, refuse, go on serving
        log.exception("admission review failed", extra={"path": request.path})
        status, body = 500, error_body(AlmanacError("internal error; see the operator's log"))
    return web.json_response(body, status=status)


async def _healthz(_: web.Request) -> web.Response:
    return web.Response(text="ok\n")


CHAINS: Final[web.AppKey[ChainLookup]] = web.AppKey("chains")
KAFKA_NAMES: Final[web.AppKey[KafkaNames]] = web.AppKey("kafka_names")
ACCESS: Final[web.AppKey[AccessCheck]] = web.AppKey("access")
WRITERS: Final[web.AppKey[frozenset[str]]] = web.AppKey("writers")
NAMESPACES: Final[web.AppKey[NamespaceLookup]] = web.AppKey("namespaces")
TEMPLATES: Final[web.AppKey[TemplateLookup]] = web.AppKey("templates")
PRIORITIES: Final[web.AppKey[PriorityLookup]] = web.AppKey("priorities")


def create_app(
    chains: ChainLookup | None = None,
    kafka_names: KafkaNames = DEFAULT_NAMES,
    *,
    access: AccessCheck | None = None,
    writers: frozenset[str] = frozenset(),
    namespaces: NamespaceLookup | None = None,
    templates: TemplateLookup | None = None,
    priorities: PriorityLookup | None = None,
) -> web.Application:
    """The webhook's routes (a function, so tests get a fresh app)."""
    app = web.Application(client_max_size=MAX_BODY)
    app[KAFKA_NAMES] = kafka_names
    app[WRITERS] = writers
    if namespaces is not None:
        app[NAMESPACES] = namespaces
    if templates is not None:
        app[TEMPLATES] = templates
    if priorities is not None:
        app[PRIORITIES] = priorities
    if access is not None:
        app[ACCESS] = access
    if chains is not None:
        app[CHAINS] = chains
    app.router.add_post(SCHEDULEDJOBS_PATH, _validate)
    app.router.add_post(TEMPLATES_PATH, _validate)
    app.router.add_post(RUNREQUESTS_PATH, _validate)
    app.router.add_get("/healthz", _healthz)
    return app


async def start_webhook_server(
    port: int,
    cert_dir: Path,
    hosts: list[str],
    *,
    bind: str = "0.0.0.0",
    manage_certs: bool = True,
    reuse_port: bool = False,
    refresh_interval: float = 60.0,
    on_ca_changed: Callable[[], Awaitable[None]] | None = None,
    chains: ChainLookup | None = None,
    kafka_names: KafkaNames = DEFAULT_NAMES,
    access: AccessCheck | None = None,
    writers: frozenset[str] = frozenset(),
    namespaces: NamespaceLookup | None = None,
    templates: TemplateLookup | None = None,
    priorities: PriorityLookup | None = None,
) -> web.AppRunner:
    """Serve the webhook over HTTPS; stop it with ``await runner.cleanup()``.

    Parameters
    ----------
    port
        TCP port (0: any free one; read it from ``runner.addresses``).
    cert_dir
        Holds ``tls.crt``, ``tls.key`` and ``ca.crt``; generated and rotated here when
        ``manage_certs``, else provided (a mounted Secret, cert-manager) and only reloaded.
    hosts
        SANs of the generated serving certificate (``127.0.0.1``, ``<svc>.<ns>.svc``).
    reuse_port
        Let several local replicas share ``port`` (``make dev``; they share ``cert_dir``).
    on_ca_changed
        Called when ``ca.crt`` changed, to write the new ``caBundle``.
    writers
        The users whose RunRequest writes are allowed (the operator's, the facade's).
    namespaces, templates, priorities
        Read a namespace's metadata, resolve a template, find a PriorityClass
        (:mod:`.admissionreads`).
    """
    if manage_certs:
        await asyncio.to_thread(ensure_certificates, cert_dir, hosts)
    context = create_ssl_context(cert_dir)
    app = create_app(
        chains,
        kafka_names,
        access=access,
        writers=writers,
        namespaces=namespaces,
        templates=templates,
        priorities=priorities,
    )
    refresher = _refresher(
        context, cert_dir, hosts if manage_certs else None, refresh_interval, on_ca_changed
    )
    app.cleanup_ctx.append(refresher)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, bind, port, ssl_context=context, reuse_port=reuse_port)
    await site.start()
    log.info("webhook serving", extra={"port": runner.addresses[0][1], "cert_dir": str(cert_dir)})
    return runner


def _refresher(
    context: ssl.SSLContext,
    cert_dir: Path,
    hosts: list[str] | None,
    interval: float,
    on_ca_changed: Callable[[], Awaitable[None]] | None,
) -> Callable[[web.Application], AsyncIterator[None]]:
    """Rotate (when ``hosts`` is given) and reload the certificates every ``interval``."""

    async def refresh() -> None:
        seen = _stamps(cert_dir)
        while True:
            await asyncio.sleep(interval)
            try:
                if hosts is not None:
                    await asyncio.to_thread(ensure_certificates, cert_dir, hosts)
                now = _stamps(cert_dir)
                if now[:2] != seen[:2]:
                    reload_ssl_context(context, cert_dir)
                    log.info("webhook certificate reloaded", extra={"cert_dir": str(cert_dir)})
                if now[2] != seen[2] and on_ca_changed is not None:
                    await on_ca_changed()
                seen = now
            except Exception:  # the top of one refresh: log, try again next time
                log.exception("webhook certificate refresh failed")

    async def lifecycle(_: web.Application) -> AsyncIterator[None]:
        task = asyncio.create_task(refresh())
        yield
        task.cancel()

    return lifecycle


def _stamps(cert_dir: Path) -> tuple[tuple[int, int] | None, ...]:
    def stamp(name: str) -> tuple[int, int] | None:
        try:
            stat = (cert_dir / name).stat()
        except OSError:
            return None
        return stat.st_mtime_ns, stat.st_size

    return stamp(SERVING_CERT), stamp(SERVING_KEY), stamp(CA_CERT)
