"""The chaos suite's REST facade: a host process for the suite's organisation, restarted
at once after the suite SIGKILLs it, and a client that asks it for runs the way a careful
caller would: a request whose answer was lost (connection refused or cut, a 5xx) is sent
again with the same idempotency key or event id until the facade answers, so a request
is either answered or counted as never answered.
"""

from __future__ import annotations

import asyncio
import base64
import json
import os
import subprocess
import sys
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Final

import httpx

from hack.bench.operatorproc import free_port

__all__ = ["Answer", "Facade", "FacadeClient", "identity_header"]

PATH: Final = "/api/scheduler/v1"
#: How long a request is sent again before it counts as never answered.
ANSWER_WITHIN: Final = 120.0
#: The facade may take this long to start (imports, the first list of templates).
START_WITHIN: Final = 60.0


def identity_header(org_id: str) -> str:
    """The ``x-rh-identity`` header of an admin of ``org_id`` (the suite's jobs are made
    with kubectl: only an admin may run and retry those)."""
    user = {"username": "chaos", "is_org_admin": True}
    who = {"identity": {"org_id": org_id, "type": "User", "user": user}}
    return base64.b64encode(json.dumps(who).encode()).decode()


@dataclass
class Facade:
    """One facade process serving the pattern ``chaos-{org_id}``."""

    env: dict[str, str]
    logs: Path
    port: int = field(default_factory=free_port)
    restarts: int = 0
    _process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}{PATH}"

    def start(self) -> None:
        env = dict(
            os.environ,
            **self.env,
            ALMANAC_API_HOST="127.0.0.1",
            ALMANAC_API_PORT=str(self.port),
            ALMANAC_API_NAMESPACE_PATTERN="chaos-{org_id}",
            # The suite asks for more runs in minutes than a tenant may in an hour.
            ALMANAC_API_MANUAL_RUNS_PER_HOUR="100000",
        )
        log = self.logs / f"facade-{self.restarts}.log"
        with log.open("wb") as out:
            self._process = subprocess.Popen(
                [sys.executable, "-m", "almanac", "api"],
                env=env,
                stdout=out,
                stderr=subprocess.STDOUT,
            )

    def wait_ready(self) -> None:
        deadline = time.monotonic() + START_WITHIN
        while time.monotonic() < deadline:
            if self._process is not None and self._process.poll() is not None:
                raise SystemExit(f"the facade exited {self._process.returncode}: see {self.logs}")
            try:
                if httpx.get(f"http://127.0.0.1:{self.port}/readyz", timeout=2).is_success:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.5)
        raise SystemExit(f"the facade was not ready within {START_WITHIN:.0f} s: see {self.logs}")

    def kill(self) -> None:
        """SIGKILL it and start another on the same port at once (a new pod behind the
        Service); requests in flight lose their answers."""
        if self._process is not None:
            self._process.kill()
            self._process.wait()
        self.restarts += 1
        self.start()

    def stop(self) -> None:
        if self._process is not None and self._process.poll() is None:
            self._process.terminate()
            try:
                self._process.wait(20)
            except subprocess.TimeoutExpired:
                self._process.kill()
                self._process.wait()


@dataclass(frozen=True)
class Answer:
    """The facade's answer: its JSON (``None`` when it never answered) or a 4xx refusal."""

    body: dict[str, Any] | None
    refused: str | None = None
    at: datetime = field(default_factory=lambda: datetime.now(UTC))


class FacadeClient:
    """Posts to the facade as a user of ``org_id``, sending again until answered."""

    def __init__(self, facade: Facade, org_id: str) -> None:
        self._facade = facade
        self._headers = {"x-rh-identity": identity_header(org_id)}
        self.resent = 0

    async def post(
        self, client: httpx.AsyncClient, path: str, body: Any = None, key: str | None = None
    ) -> Answer:
        headers = dict(self._headers, **({"Idempotency-Key": key} if key else {}))
        deadline = time.monotonic() + ANSWER_WITHIN
        while time.monotonic() < deadline:
            try:
                response = await client.post(
                    self._facade.url + path, json=body, headers=headers, timeout=15
                )
            except httpx.HTTPError:
                response = None
            if response is not None and response.status_code < 500:
                if response.is_success:
                    return Answer(response.json())
                return Answer(None, f"{response.status_code} {response.text[:200]}")
            self.resent += 1
            await asyncio.sleep(1.0)
        return Answer(None)
