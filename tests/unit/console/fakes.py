"""The facade with its real service, routes and console over an in-memory API server and
the in-memory run store: what the console's unit and browser tests drive.

:class:`MemoryKube` keeps ScheduledJobs, namespaces and RunRequests as the API server
would (uids, resourceVersions, a 404 for another namespace's uid), so the service's own
tenancy, role and validation code runs unchanged.
"""

from __future__ import annotations

import copy
import itertools
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from types import SimpleNamespace
from typing import Any, Final, cast

import httpx
from fastapi import FastAPI

from almanac.api import ApiSettings, create_app, encode_identity
from almanac.api.catalog import Catalog
from almanac.api.errors import ConflictError, NotFoundError
from almanac.api.kube import KubeFacade
from almanac.api.roles import RolePolicy
from almanac.api.service import JobService
from almanac.core.logtail import LogTail, LogTailLimits, tail_of
from almanac.core.namespaces import NamespacePolicy
from almanac.core.snapshot import ObjectRef
from almanac.core.status import RunPhase
from almanac.history.records import RunRecord
from almanac.operator.kube import event_body
from almanac.operator.writer import WARNINGS
from tests.support.runstore import InMemoryRunStore
from tests.unit.api.client import in_process

__all__ = ["NOW", "Console", "MemoryKube", "console", "identity", "make_app"]

NOW: Final = datetime(2026, 3, 2, 12, 0, tzinfo=UTC)


def identity(org_id: str, username: str = "ann", *, admin: bool = False) -> dict[str, str]:
    """The identity header of a user of ``org_id``."""
    return {"x-rh-identity": encode_identity(org_id, username=username, is_org_admin=admin)}


@dataclass
class MemoryKube:
    """The API server calls the facade makes, over dicts."""

    jobs: dict[tuple[str, str], dict[str, Any]] = field(default_factory=dict)
    namespaces: dict[str, dict[str, str]] = field(default_factory=dict)
    requests: dict[tuple[str, str], dict[str, Any]] = field(default_factory=dict)
    pod_logs: dict[tuple[str, str], str] = field(default_factory=dict)
    #: JobTemplates by (namespace, name); the built-in types need none.
    templates: dict[tuple[str, str], dict[str, Any]] = field(default_factory=dict)
    #: Kubernetes Events (core/v1 JSON, as the operator posts them) of every namespace.
    events: list[dict[str, Any]] = field(default_factory=list)
    #: What listing Events raises instead (the facade's RBAC lacks them, say).
    events_refused: Exception | None = None
    _uids: itertools.count[int] = field(default_factory=itertools.count)

    async def namespace_labels(self, namespace: str) -> dict[str, str] | None:
        return self.namespaces.get(namespace)

    async def namespace_policy(self, namespace: str) -> NamespacePolicy:
        return NamespacePolicy()

    async def create_namespace(self, namespace: str, labels: dict[str, str]) -> None:
        self.namespaces.setdefault(namespace, dict(labels))

    async def create_namespace_objects(self, namespace: str, objects: Any) -> None:
        return None

    async def list_jobs(self, namespace: str, *, cached: bool = False) -> list[dict[str, Any]]:
        """Like the facade's watched copy, ``cached`` answers the stored objects themselves
        (readers must not change them); an API server read answers copies."""
        found = [o for (ns, _), o in self.jobs.items() if ns == namespace]
        return found if cached else copy.deepcopy(found)

    def _find(self, namespace: str, uid: str) -> dict[str, Any]:
        for (ns, _), obj in self.jobs.items():
            if ns == namespace and obj["metadata"]["uid"] == uid:
                return obj
        raise NotFoundError(f"no job with id {uid!r}", "id")

    async def get_job(self, namespace: str, uid: str) -> dict[str, Any]:
        return copy.deepcopy(self._find(namespace, uid))

    async def create_job(self, namespace: str, body: dict[str, Any]) -> dict[str, Any]:
        name = body["metadata"]["name"]
        if (namespace, name) in self.jobs:
            raise ConflictError(f"{name} exists", "name")
        made = copy.deepcopy(body)
        made["metadata"] |= {
            "uid": f"uid-{next(self._uids):05d}",
            "namespace": namespace,
            "resourceVersion": "1",
            "creationTimestamp": NOW.isoformat().replace("+00:00", "Z"),
        }
        self.jobs[(namespace, name)] = made
        return copy.deepcopy(made)

    async def update_job(
        self, namespace: str, uid: str, mutate: Callable[[dict[str, Any]], dict[str, Any]]
    ) -> dict[str, Any]:
        current = self._find(namespace, uid)
        changed = mutate(copy.deepcopy(current))
        version = int(current["metadata"].get("resourceVersion", "1")) + 1
        changed["metadata"]["resourceVersion"] = str(version)
        self.jobs[(namespace, current["metadata"]["name"])] = changed
        return copy.deepcopy(changed)

    async def delete_job(
        self,
        namespace: str,
        uid: str,
        check: Callable[[dict[str, Any]], None] | None = None,
    ) -> dict[str, Any]:
        current = self._find(namespace, uid)
        if check is not None:
            check(copy.deepcopy(current))
        del self.jobs[(namespace, current["metadata"]["name"])]
        return current

    async def list_templates(self, namespace: str) -> list[dict[str, Any]]:
        return [copy.deepcopy(t) for (ns, _), t in self.templates.items() if ns == namespace]

    async def get_template(self, namespace: str, name: str) -> dict[str, Any] | None:
        found = self.templates.get((namespace, name))
        return copy.deepcopy(found) if found is not None else None

    async def get_run_job(self, namespace: str, name: str) -> dict[str, Any] | None:
        return None

    async def run_log(self, namespace: str, run: str, limits: LogTailLimits) -> LogTail | None:
        text = self.pod_logs.get((namespace, run))
        return None if text is None else tail_of(text, limits)

    async def list_job_events(self, namespace: str, uid: str) -> list[dict[str, Any]]:
        """The field selector ``involvedObject.uid=<uid>`` in ``namespace``."""
        if self.events_refused is not None:
            raise self.events_refused
        return [
            copy.deepcopy(e)
            for e in self.events
            if e["metadata"]["namespace"] == namespace and e["involvedObject"]["uid"] == uid
        ]

    async def create_run_request(self, namespace: str, body: dict[str, Any]) -> bool:
        key = (namespace, body["metadata"]["name"])
        if key in self.requests:
            return False
        self.requests[key] = body
        return True

    async def get_run_request(self, namespace: str, name: str) -> dict[str, Any] | None:
        return self.requests.get((namespace, name))


@dataclass
class Console:
    """A client of the facade, the fakes behind it, and helpers shaped like the operator."""

    http: httpx.AsyncClient
    kube: MemoryKube
    store: InMemoryRunStore
    service: JobService

    def event(
        self, job: dict[str, Any], reason: str, message: str, *, minutes_ago: int = 5
    ) -> None:
        """An Event on ``job`` as the operator posts it (:func:`event_body`), named and
        stamped by the API server."""
        meta = job["metadata"]
        ref = ObjectRef(meta["namespace"], meta["name"], meta["uid"])
        body = event_body(
            ref,
            reason,
            message,
            warning=reason in WARNINGS,
            component="almanac-operator",
            now=NOW - timedelta(minutes=minutes_ago),
        )
        name = f"{meta['name']}.{len(self.kube.events):x}"
        body["metadata"] |= {"name": name, "namespace": meta["namespace"]}
        self.kube.events.append(body)

    def status(self, org_id: str, job_id: str, **status: Any) -> None:
        """Set a job's status as the operator writes it."""
        obj = self.kube._find(f"org-{org_id}", job_id)
        obj["status"] = status

    async def finished_run(
        self,
        job: dict[str, Any],
        phase: RunPhase,
        *,
        minutes_ago: int = 30,
        log: str | None = None,
        error: str | None = None,
    ) -> RunRecord:
        """A history row of one of ``job``'s runs, as the operator records it."""
        slot = NOW - timedelta(minutes=minutes_ago)
        record = RunRecord(
            namespace=job["metadata"]["namespace"],
            scheduledjob=job["metadata"]["name"],
            scheduledjob_uid=job["metadata"]["uid"],
            run_name=f"{job['metadata']['name']}-{slot:%Y%m%d%H%M}",
            slot=slot,
            phase=phase,
            template=job["spec"].get("template", "command"),
            started_at=slot,
            finished_at=slot + timedelta(seconds=3),
            error=error,
            log=None if log is None else tail_of(log, LogTailLimits()),
        )
        await self.store.record_run(record)
        return record


def make_app(
    settings: ApiSettings | None = None, *, clock: Callable[[], datetime] = lambda: NOW
) -> tuple[FastAPI, MemoryKube, InMemoryRunStore, JobService]:
    """The facade app (REST and console) over fresh fakes, its context set as its lifespan
    would set it."""
    settings = settings or ApiSettings()
    kube, store = MemoryKube(), InMemoryRunStore(now=NOW)
    facade = cast(KubeFacade, kube)
    service = JobService(
        settings,
        facade,
        store,
        Catalog(facade, settings.image),
        roles=RolePolicy.of(settings.admin_users, settings.readonly_users),
        clock=clock,
    )
    app = create_app(settings)
    app.state.context = SimpleNamespace(service=service)
    return app, kube, store, service


@asynccontextmanager
async def console(settings: ApiSettings | None = None) -> AsyncIterator[Console]:
    app, kube, store, service = make_app(settings)
    async with in_process(app) as http:
        yield Console(http, kube, store, service)
