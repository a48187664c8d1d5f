"""Real peers for the executor: a recording HTTP server, an Export Service fake, an SMTP
server with a login.

Each runs in a daemon thread (stdlib ``ThreadingHTTPServer``, aiosmtpd's controller) and is
reached over real TCP: on 127.0.0.1 by an executor subprocess, on the pod bridge's gateway
by run pods.
"""

from __future__ import annotations

import base64
import email
import json
import socket
import threading
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from email.message import Message
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, ClassVar

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, Envelope, LoginPassword, Session

__all__ = [
    "ExportServiceFake",
    "Inbox",
    "RecordedRequest",
    "RecordingServer",
    "free_port",
    "serve",
    "smtp_server",
]


def free_port(host: str = "127.0.0.1") -> int:
    """A port of ``host`` with nothing listening (bound, then released)."""
    with socket.socket() as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


@dataclass(frozen=True)
class RecordedRequest:
    method: str
    path: str
    headers: dict[str, str]
    body: bytes


class _Handler(BaseHTTPRequestHandler):
    server: _Server
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: Any) -> None:  # quiet test output
        return

    def _record(self) -> RecordedRequest:
        length = int(self.headers.get("Content-Length") or 0)
        request = RecordedRequest(
            self.command,
            self.path,
            {k.lower(): v for k, v in self.headers.items()},
            self.rfile.read(length),
        )
        self.server.peer.requests.append(request)
        return request

    def _send(self, status: int, body: bytes, content_type: str = "text/plain") -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def handle_any(self) -> None:
        request = self._record()
        status, body, content_type = self.server.peer.answer(request)
        self._send(status, body, content_type)

    do_GET = do_POST = do_PUT = do_DELETE = handle_any


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, peer: RecordingServer, host: str) -> None:
        super().__init__((host, 0), _Handler)
        self.peer = peer


@dataclass
class RecordingServer:
    """Answers ``routes[path]`` (status, body) and records every request."""

    routes: dict[str, tuple[int, str]] = field(default_factory=dict)
    requests: list[RecordedRequest] = field(default_factory=list)
    base_url: str = ""

    def answer(self, request: RecordedRequest) -> tuple[int, bytes, str]:
        status, body = self.routes.get(request.path.split("?")[0], (404, "not found"))
        return status, body.encode(), "text/plain"


class ExportServiceFake(RecordingServer):
    """The seed's Export Service REST flow under ``/api/export/v1``.

    The export's ``name`` steers it: ``fail`` fails on the first poll with a source error,
    ``stuck`` never leaves ``running``, anything else is ``complete`` on the second poll.
    Requests without an ``x-rh-identity`` header get 401, organisation ``0`` gets 403.
    """

    ROOT: ClassVar[str] = "/api/export/v1"

    def __init__(self) -> None:
        super().__init__()
        self.exports: dict[str, dict[str, Any]] = {}
        self.identities: list[dict[str, Any]] = []

    def _json(self, status: int, data: Any) -> tuple[int, bytes, str]:
        return status, json.dumps(data).encode(), "application/json"

    def answer(self, request: RecordedRequest) -> tuple[int, bytes, str]:
        identity = request.headers.get("x-rh-identity")
        if not identity:
            return self._json(401, {"message": "missing x-rh-identity"})
        decoded = json.loads(base64.b64decode(identity))
        self.identities.append(decoded)
        if decoded["identity"]["org_id"] == "0":
            return self._json(403, {"message": "organisation 0 may not export"})
        if request.method == "POST" and request.path == f"{self.ROOT}/exports":
            body = json.loads(request.body)
            if body.get("format") not in ("json", "csv"):
                return self._json(400, {"message": f"bad format {body.get('format')!r}"})
            export = {"id": str(uuid.uuid4()), "name": body["name"], "status": "pending"}
            export |= {"polls": 0, "sources": body["sources"]}
            self.exports[export["id"]] = export
            return self._json(202, {k: export[k] for k in ("id", "name", "status")})
        parts = request.path.removeprefix(f"{self.ROOT}/exports/").split("/")
        if request.method == "GET" and len(parts) == 2 and parts[1] == "status":
            if parts[0] not in self.exports:
                return self._json(404, {"message": "export not found"})
            export = self.exports[parts[0]]
            export["polls"] += 1
            if export["name"] == "fail":
                source = export["sources"][0]
                failed = {**source, "status": "failed", "message": "inventory timed out"}
                return self._json(200, {"id": parts[0], "status": "failed", "sources": [failed]})
            status = "running" if export["name"] == "stuck" or export["polls"] < 2 else "complete"
            return self._json(200, {"id": parts[0], "status": status})
        return self._json(404, {"message": "no such route"})


@contextmanager
def serve(peer: RecordingServer, host: str = "127.0.0.1") -> Iterator[RecordingServer]:
    """Run ``peer`` on a free port of ``host`` for the duration of the block."""
    server = _Server(peer, host)
    peer.base_url = f"http://{host}:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield peer
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


class Inbox:
    """aiosmtpd handler keeping every accepted message; accepts one login."""

    def __init__(self, login: str, password: str) -> None:
        self.messages: list[tuple[Envelope, Message]] = []
        self._credentials = (login.encode(), password.encode())

    async def handle_DATA(self, server: Any, session: Session, envelope: Envelope) -> str:
        content = envelope.content if isinstance(envelope.content, bytes) else b""
        self.messages.append((envelope, email.message_from_bytes(content)))
        return "250 OK"

    def authenticate(
        self, server: Any, session: Session, envelope: Envelope, mechanism: str, data: Any
    ) -> AuthResult:
        ok = isinstance(data, LoginPassword) and (data.login, data.password) == self._credentials
        return AuthResult(success=ok, handled=False)


@contextmanager
def smtp_server(inbox: Inbox, host: str = "127.0.0.1") -> Iterator[int]:
    """Run an SMTP server (AUTH without TLS) delivering to ``inbox``; yields its port."""
    port = free_port(host)
    controller = Controller(
        inbox,
        hostname=host,
        port=port,
        authenticator=inbox.authenticate,
        auth_require_tls=False,
        ready_timeout=10,
    )
    controller.start()
    try:
        yield port
    finally:
        controller.stop()
