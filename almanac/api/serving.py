"""Serving the facade: its API port and, when asked, a plain-HTTP ops port.

The API port speaks HTTP, HTTPS (``ALMANAC_API_TLS_CERTFILE``/``_KEYFILE``), or HTTPS that
requires a client certificate signed by the gateway's CA (``ALMANAC_API_GATEWAY_CLIENT_CA``):
then a client without one fails the TLS handshake and never reaches the application.

Why an ops port: the kubelet's probes (and a Prometheus scrape) cannot present the gateway's
certificate, so with mutual TLS they need a port of their own (``ALMANAC_API_OPS_PORT``,
8081 by default then). Both ports are uvicorn servers on one event loop sharing one
application and one lifespan (the API server's), so ``/readyz`` on the ops port checks the
very clients the API uses. The ops port hands only ``/healthz``, ``/readyz`` and
``/metrics`` to the application and answers anything else with a 404: it is no way around
the certificate. With an ops port the API port stops serving ``/metrics`` (the chart always
runs one, and Prometheus scrapes it there). The servers leave signals to :func:`run`,
which stops both on SIGTERM.

Why a protocol subclass for ``ALMANAC_API_GATEWAY_CLIENT_NAMES``: uvicorn does not yet put
the client certificate in the ASGI scope (the ASGI TLS extension is unimplemented up to
0.55), so the check reads the verified certificate from the connection's TLS object once the
handshake is done; a connection whose certificate is not the gateway's gets a 403 for each
of its requests, before the application sees them.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
import ssl
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, Final

import uvicorn
import uvloop
from cryptography import x509
from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives import serialization
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.types import ASGIApp, Receive, Scope, Send
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

from almanac import __version__
from almanac.api.errors import ForbiddenError, NotFoundError
from almanac.api.gateway import check_client_names, client_certificate_names
from almanac.api.settings import (
    CLIENT_CA_VARIABLE,
    OPS_PORT_VARIABLE,
    TLS_CERT_VARIABLE,
    TLS_KEY_VARIABLE,
    ApiSettings,
)
from almanac.core.errors import InvalidInputError

__all__ = ["OPS_PATHS", "api_port_app", "check_tls_files", "ops_app", "run"]

#: What the ops port serves: the probes and the metrics, nothing that reads an identity.
OPS_PATHS: Final = frozenset({"/healthz", "/readyz", "/metrics"})
log = logging.getLogger("almanac.api")


def _read(path: str, variable: str) -> bytes:
    try:
        return Path(path).read_bytes()
    except OSError as error:
        raise InvalidInputError(
            f"{variable}={path!r} cannot be read ({error.strerror or error}); mount the file "
            "there (readable by the facade's user) or fix the path",
            variable,
        ) from error


def _certificates(path: str, variable: str, what: str) -> list[x509.Certificate]:
    data = _read(path, variable)  # outside the try: its InvalidInputError is a ValueError
    try:
        return x509.load_pem_x509_certificates(data)
    except ValueError as error:
        raise InvalidInputError(
            f"{variable}={path!r} holds no PEM certificate ({error}); point it at {what}",
            variable,
        ) from error


def check_tls_files(settings: ApiSettings) -> None:
    """Refuse, naming the variable and the fix, a certificate, key or CA file the TLS set-up
    would fail on: at start, rather than as a traceback from inside uvicorn (or, for the
    CA, as every gateway request failing its handshake)."""
    if settings.tls_certfile is None or settings.tls_keyfile is None:
        return
    _certificates(settings.tls_certfile, TLS_CERT_VARIABLE, "the facade's certificate (tls.crt)")
    key = settings.tls_keyfile
    key_pem = _read(key, TLS_KEY_VARIABLE)
    try:
        serialization.load_pem_private_key(key_pem, password=None)
    except (ValueError, TypeError, UnsupportedAlgorithm) as error:
        raise InvalidInputError(
            f"{TLS_KEY_VARIABLE}={key!r} is not an unencrypted PEM private key ({error}); "
            "point it at the key of the facade's certificate (tls.key)",
            TLS_KEY_VARIABLE,
        ) from error
    try:
        ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER).load_cert_chain(settings.tls_certfile, key)
    except ssl.SSLError as error:
        raise InvalidInputError(
            f"{TLS_KEY_VARIABLE}={key!r} is not the key of the certificate in "
            f"{TLS_CERT_VARIABLE} ({error.reason or error}); use the pair from one Secret",
            TLS_KEY_VARIABLE,
        ) from error
    if settings.gateway_client_ca is not None:
        _certificates(
            settings.gateway_client_ca,
            CLIENT_CA_VARIABLE,
            "the CA that signs the gateway's client certificate (ca.crt)",
        )


def _respond(response: Response) -> ASGIApp:
    """An application answering every HTTP request with ``response`` (other kinds of
    connection, websockets, are closed unanswered)."""

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            await response(scope, receive, send)

    return app


def ops_app(app: ASGIApp, api_started: Callable[[], bool]) -> ASGIApp:
    """``app`` limited to :data:`OPS_PATHS`; ``/readyz`` is a 503 until the API port has
    started (and the application's lifespan has created its clients)."""
    outside = NotFoundError(
        f"the ops port ({OPS_PORT_VARIABLE}) serves only {', '.join(sorted(OPS_PATHS))}; "
        "call the API on the API port",
        "path",
    )
    not_found = _respond(JSONResponse(outside.body(), status_code=outside.status))
    starting = _respond(PlainTextResponse("not ready: the API port is starting", 503))

    async def ops(scope: Scope, receive: Receive, send: Send) -> None:
        path = scope.get("path")
        if scope["type"] != "http" or path not in OPS_PATHS:
            await not_found(scope, receive, send)
        elif path == "/readyz" and not api_started():
            await starting(scope, receive, send)
        else:
            await app(scope, receive, send)

    return ops


def api_port_app(app: ASGIApp) -> ASGIApp:
    """``app`` as the API port serves it once an ops port exists: everything but
    ``/metrics``, which is the ops port's alone (fleet-wide figures are not for the callers
    the gateway lets in, and one scrape target per process is what Prometheus expects)."""
    moved = NotFoundError(
        f"metrics are served on the ops port ({OPS_PORT_VARIABLE}), not the API port",
        "path",
    )
    not_found = _respond(JSONResponse(moved.body(), status_code=moved.status))

    async def api(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope.get("path") == "/metrics":
            await not_found(scope, receive, send)
        else:
            await app(scope, receive, send)

    return api


def _names_protocol(allowed: frozenset[str]) -> type[asyncio.Protocol]:
    """uvicorn's HTTP/1.1 protocol, checking each connection's verified client certificate
    against ``allowed`` once its handshake is done (see the module docstring)."""

    class GatewayNamesProtocol(HttpToolsProtocol):
        def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
            super().connection_made(transport)
            tls: ssl.SSLObject | None = transport.get_extra_info("ssl_object")
            peercert: dict[str, Any] | None = tls.getpeercert() if tls is not None else None
            try:
                check_client_names(allowed, peercert)
            except ForbiddenError as refusal:
                names = client_certificate_names(peercert or {})
                log.warning(
                    "client certificate refused",
                    extra={"client": self.client, "certificate_names": list(names)},
                )
                body = JSONResponse(refusal.body(), status_code=refusal.status)
                self.app = _respond(body)

    return GatewayNamesProtocol


class _Server(uvicorn.Server):
    """A uvicorn server that leaves signal handling to :func:`run`: uvicorn installs its
    handlers per server, so with two the second would take the signals from the first."""

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield


def _servers(app: ASGIApp, settings: ApiSettings) -> list[_Server]:
    common: dict[str, Any] = {"host": settings.host, "log_config": None, "access_log": False}
    tls: dict[str, Any] = {}
    if settings.tls_certfile is not None:
        tls = {"ssl_certfile": settings.tls_certfile, "ssl_keyfile": settings.tls_keyfile}
    if settings.gateway_client_ca is not None:
        tls |= {"ssl_ca_certs": settings.gateway_client_ca, "ssl_cert_reqs": ssl.CERT_REQUIRED}
    http: type[asyncio.Protocol] | str = "auto"
    if settings.gateway_client_names:
        http = _names_protocol(settings.gateway_client_names)
    served = app if settings.ops_port is None else api_port_app(app)
    api = _Server(
        uvicorn.Config(served, port=settings.port, lifespan="on", http=http, **common, **tls)
    )
    if settings.ops_port is None:
        return [api]
    ops = ops_app(app, lambda: api.started)
    return [api, _Server(uvicorn.Config(ops, port=settings.ops_port, lifespan="off", **common))]


async def _serve(servers: list[_Server]) -> None:
    """Run every server until a signal (or one of them) stops them all; a second SIGINT or
    SIGTERM stops them without waiting for open requests."""

    def stop() -> None:
        for server in servers:
            server.force_exit = server.should_exit
            server.should_exit = True

    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop)

    async def one(server: _Server) -> None:
        try:
            await server.serve()
        finally:
            for other in servers:
                other.should_exit = True

    await asyncio.gather(*(one(server) for server in servers))


def run(app: ASGIApp, settings: ApiSettings) -> None:
    """Serve ``app`` as ``settings`` say until SIGTERM/SIGINT, on uvloop like ``uvicorn.run``.
    The TLS files are expected checked (:func:`check_tls_files`)."""
    log.info("facade starting", extra={"version": __version__, "port": settings.port})
    with asyncio.Runner(loop_factory=uvloop.new_event_loop) as runner:
        runner.run(_serve(_servers(app, settings)))
