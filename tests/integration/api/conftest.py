"""The facade as a real process (``python -m almanac api``) on the stack, and callers
from fresh organisations whose namespaces are removed after each test."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from almanac.api import BASE_PATH, encode_identity
from almanac.core.status import RunPhase
from almanac.history import History, PostgresRunStore, RunRecord
from tests.support import Kubectl

#: Where seed-style export jobs point (a closed port: the tests never run an export).
EXPORT_SERVICE_URL = "http://127.0.0.1:9/api/export/v1"
#: Where seed-000 ``{"message": ...}`` payloads publish.
DEFAULT_MESSAGE_TOPIC = "jobs.messages"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class FacadeProcess:
    """One facade process; its JSON log goes to ``log``."""

    log: Path
    env: dict[str, str] = field(default_factory=dict)
    port: int = field(default_factory=_free_port)
    process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, timeout: float = 60) -> None:
        env = dict(os.environ, ALMANAC_API_HOST="127.0.0.1", ALMANAC_API_PORT=str(self.port))
        env.update(self.env)
        with self.log.open("ab") as out:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "almanac", "api"],
                stdout=out,
                stderr=subprocess.STDOUT,
                env=env,
            )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            assert self.process.poll() is None, f"facade exited: {self.log.read_text()[-2000:]}"
            try:
                if httpx.get(f"{self.url}/readyz", timeout=2).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.2)  # start-up poll of a child process, not a test wait
        raise AssertionError(f"facade not ready in {timeout}s: {self.log.read_text()[-2000:]}")

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


@pytest.fixture(scope="session")
def facade(crds: Kubectl, tmp_path_factory: pytest.TempPathFactory) -> Iterator[FacadeProcess]:
    """The facade every API test talks to (creates org namespaces on first use)."""
    process = FacadeProcess(
        tmp_path_factory.mktemp("facade") / "facade.log",
        env={
            "ALMANAC_EXPORT_SERVICE_URL": EXPORT_SERVICE_URL,
            "ALMANAC_API_DEFAULT_MESSAGE_TOPIC": DEFAULT_MESSAGE_TOPIC,
        },
    )
    process.start()
    try:
        yield process
    finally:
        process.stop()


@dataclass
class Org:
    """A caller of one organisation: an HTTP client with its identity, and its namespace."""

    org_id: str
    http: httpx.Client
    kubectl: Kubectl

    @property
    def namespace(self) -> str:
        return f"org-{self.org_id}"

    def request(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        return self.http.request(method, f"{BASE_PATH}{path}", **kwargs)

    def as_user(self, username: str, *, admin: bool = False) -> Org:
        """Another caller of the same organisation (close its ``http`` after use)."""
        identity = encode_identity(self.org_id, username=username, is_org_admin=admin)
        http = httpx.Client(
            base_url=self.http.base_url, headers={"x-rh-identity": identity}, timeout=30
        )
        return Org(self.org_id, http, self.kubectl)

    def create(self, **body: Any) -> dict[str, Any]:
        job = {"name": "Job", "schedule": "0 0 * * *", "type": "command"} | body
        job.setdefault("payload", {"command": ["true"]})
        reply = self.request("POST", "/jobs", json=job)
        assert reply.status_code == 201, reply.text
        created: dict[str, Any] = reply.json()
        return created


@pytest.fixture
def make_org(facade: FacadeProcess, kubectl: Kubectl) -> Iterator[Any]:
    """Factory of organisations; their namespaces are deleted after the test."""
    made: list[Org] = []

    def make(username: str = "jdoe") -> Org:
        org_id = uuid.uuid4().hex[:10]
        headers = {"x-rh-identity": encode_identity(org_id, username=username)}
        org = Org(
            org_id,
            httpx.Client(base_url=facade.url, headers=headers, timeout=30),
            kubectl.in_namespace(f"org-{org_id}"),
        )
        made.append(org)
        return org

    yield make
    for org in made:
        org.http.close()
        kubectl.run("delete", "namespace", org.namespace, "--wait=false", "--ignore-not-found")


@pytest.fixture
def org(make_org: Any) -> Org:
    made: Org = make_org()
    return made


@pytest.fixture
async def store() -> AsyncIterator[PostgresRunStore]:
    """The history the facade reads (the stack's Postgres), written as the operator does."""
    history = await History.open(os.environ["ALMANAC_DATABASE_URL"])
    try:
        yield history.store
    finally:
        await history.aclose()


def history_run(
    org: Org, job: dict[str, Any], slot: datetime, phase: RunPhase, seconds: float = 1, **extra: Any
) -> RunRecord:
    """A history row of ``job``'s run for ``slot``, as the operator records it: started at
    its slot, finished ``seconds`` later unless still running."""
    return RunRecord(
        namespace=org.namespace,
        scheduledjob=job["resource_name"],
        scheduledjob_uid=job["id"],
        run_name=f"{job['resource_name']}-{slot:%Y%m%d%H%M}",
        slot=slot,
        phase=phase,
        template="command",
        started_at=slot,
        finished_at=slot + timedelta(seconds=seconds) if phase != RunPhase.RUNNING else None,
        **extra,
    )
