"""The facade with its real service and routes over the in-memory run store and a small
in-memory API server: what the history routes' unit tests call."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from types import SimpleNamespace
from typing import Any, Final

import httpx

from almanac.api import BASE_PATH, ApiSettings, create_app, encode_identity
from almanac.api.errors import NotFoundError
from almanac.api.service import JobService
from almanac.core.logtail import LogTail, LogTailLimits, tail_of
from almanac.core.vocabulary import ANNOTATION_DISPLAY_NAME
from tests.support.runstore import InMemoryRunStore
from tests.unit.api.client import in_process

__all__ = ["NOW", "Facade", "Jobs", "facade", "job_object"]

NOW: Final = datetime(2026, 3, 2, 12, 0, tzinfo=UTC)


def job_object(
    org_id: str, uid: str, name: str, *, spec: dict[str, Any] | None = None, **status: Any
) -> dict[str, Any]:
    """A ScheduledJob of ``org_id``'s namespace as the API server returns it."""
    return {
        "metadata": {
            "uid": uid,
            "name": name,
            "namespace": f"org-{org_id}",
            "annotations": {ANNOTATION_DISPLAY_NAME: name.title()},
        },
        "spec": {"template": "command", "schedule": {"cron": "0 2 * * *"}} | (spec or {}),
        "status": status,
    }


@dataclass
class Jobs:
    """The API server's reads the history routes make: namespaces and ScheduledJobs."""

    objects: list[dict[str, Any]] = field(default_factory=list)
    #: RunRequests the facade created (a retry, a requeue), by (namespace, name).
    requests: dict[tuple[str, str], dict[str, Any]] = field(default_factory=dict)
    #: Logs of run pods still there, by (namespace, run name).
    pod_logs: dict[tuple[str, str], str] = field(default_factory=dict)
    #: Run Jobs as the API server holds them (the launch queue's are among them).
    run_jobs: list[dict[str, Any]] = field(default_factory=list)
    #: Kubernetes Events (core/v1 JSON) of every namespace.
    events: list[dict[str, Any]] = field(default_factory=list)

    async def namespace_labels(self, namespace: str) -> dict[str, str] | None:
        return {"almanac.dev/org-id": namespace.removeprefix("org-")}

    async def list_jobs(self, namespace: str, *, cached: bool = False) -> list[dict[str, Any]]:
        return [o for o in self.objects if o["metadata"]["namespace"] == namespace]

    async def get_job(self, namespace: str, uid: str) -> dict[str, Any]:
        for obj in await self.list_jobs(namespace):
            if obj["metadata"]["uid"] == uid:
                return obj
        raise NotFoundError(f"no job with id {uid!r}", "id")

    async def queued_jobs(self, namespace: str) -> list[dict[str, Any]]:
        """The label selector ``almanac.dev/queued=true`` in ``namespace``."""
        return [
            j
            for j in self.run_jobs
            if j["metadata"]["namespace"] == namespace
            and j["metadata"]["labels"].get("almanac.dev/queued") == "true"
        ]

    async def list_job_events(self, namespace: str, uid: str) -> list[dict[str, Any]]:
        """The field selector ``involvedObject.uid=<uid>`` in ``namespace``."""
        return [
            e
            for e in self.events
            if e["metadata"]["namespace"] == namespace and e["involvedObject"]["uid"] == uid
        ]

    async def get_run_job(self, namespace: str, name: str) -> dict[str, Any] | None:
        return None  # every run's Job is pruned: runs are found in the history

    async def run_log(self, namespace: str, run: str, limits: LogTailLimits) -> LogTail | None:
        """The live log of a running run's pod, as :attr:`pod_logs` holds it."""
        text = self.pod_logs.get((namespace, run))
        return None if text is None else tail_of(text, limits)

    async def get_template(self, namespace: str, name: str) -> dict[str, Any] | None:
        return None  # no JobTemplates: the built-in types' shipped schemas apply

    async def list_templates(self, namespace: str) -> list[dict[str, Any]]:
        return []

    async def get_run_request(self, namespace: str, name: str) -> dict[str, Any] | None:
        return self.requests.get((namespace, name))

    async def create_run_request(self, namespace: str, body: dict[str, Any]) -> bool:
        key = (namespace, body["metadata"]["name"])
        if key in self.requests:
            return False
        self.requests[key] = body
        return True


@dataclass
class Facade:
    """A client of the app, the stores behind it, and a request helper per organisation."""

    http: httpx.AsyncClient
    store: InMemoryRunStore
    jobs: Jobs
    service: JobService

    async def get(self, org_id: str, path: str, **params: Any) -> httpx.Response:
        headers = {"x-rh-identity": encode_identity(org_id, username="ann")}
        return await self.http.get(f"{BASE_PATH}{path}", params=params, headers=headers)

    async def post(self, org_id: str, path: str, *, admin: bool = True) -> httpx.Response:
        identity = encode_identity(org_id, username="ann", is_org_admin=admin)
        return await self.http.post(f"{BASE_PATH}{path}", headers={"x-rh-identity": identity})


@asynccontextmanager
async def facade() -> AsyncIterator[Facade]:
    store, jobs = InMemoryRunStore(now=NOW), Jobs()
    service = JobService(ApiSettings(), jobs, store, catalog=None, clock=lambda: NOW)  # type: ignore[arg-type]
    app = create_app(ApiSettings())
    app.state.context = SimpleNamespace(service=service)
    async with in_process(app) as http:
        yield Facade(http, store, jobs, service)
