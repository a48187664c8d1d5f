"""The Kubernetes calls of the facade: ScheduledJobs, templates, namespaces, run requests.

The facade keeps no second store: every read and write goes to the API server. Jobs are
addressed by uid, which the API server cannot select on, so a small uid → name map (filled
by every read) makes ``GET /jobs/{id}`` one request; a miss or a stale entry falls back to
listing the namespace. API failures are translated here, once, into the facade's errors.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping, Sequence
from contextlib import asynccontextmanager
from typing import Any, Final

import aiohttp
from kubernetes_asyncio import client
from kubernetes_asyncio.client.exceptions import ApiException

from almanac.api.cache import JobCache
from almanac.api.errors import (
    ApiError,
    BadRequestError,
    ConflictError,
    NotFoundError,
    Problem,
    UpstreamError,
    rest_field,
)
from almanac.core.logtail import LogTail, LogTailLimits, read_args, tail_from_server
from almanac.core.models import API_GROUP
from almanac.core.namespaces import NamespacePolicy
from almanac.core.runs import RUN_CONTAINER
from almanac.core.vocabulary import (
    CLUSTER_JOB_TEMPLATES,
    JOB_TEMPLATES,
    LABEL_QUEUED,
    RUN_REQUESTS,
    SCHEDULED_JOBS,
    VERSION,
)
from almanac.operator.kube import read_reply

__all__ = ["KubeFacade", "translate"]

PLURAL: Final = SCHEDULED_JOBS
REQUESTS: Final = RUN_REQUESTS
UPDATE_ATTEMPTS: Final = 5
_UID_CACHE_MAX: Final = 10_000
#: A job's Events are read in pages of this size, at most this many pages.
EVENT_PAGE_SIZE: Final = 500
EVENT_PAGES: Final = 10

Mutation = Callable[[dict[str, Any]], dict[str, Any]]


def _causes(exc: ApiException) -> list[Problem]:
    try:
        details = json.loads(exc.body or "{}").get("details") or {}
        message = json.loads(exc.body or "{}").get("message") or str(exc.reason)
    except ValueError:
        return [Problem("", str(exc.reason), BadRequestError.code)]
    causes = details.get("causes") or []
    found = [
        Problem(rest_field(str(c.get("field") or "")), str(c.get("message")), BadRequestError.code)
        for c in causes
        if isinstance(c, dict)
    ]
    return found or [Problem("", str(message), BadRequestError.code)]


def _reason(exc: ApiException) -> str:
    """The ``reason`` of a refusal's Status (``AlreadyExists``, ``Conflict`` ...)."""
    try:
        return str(json.loads(exc.body or "{}").get("reason") or "")
    except ValueError:
        return ""


def translate(exc: ApiException, what: str) -> ApiError:
    """An API server refusal as the facade's error (the caller's fault or ours)."""
    if exc.status == 404:
        return NotFoundError(f"{what} not found", "id")
    if exc.status == 409:
        return ConflictError(f"{what} changed or exists already; retry", "id")
    if exc.status in (400, 422):
        problems = _causes(exc)
        return BadRequestError(problems[0].message, problems[0].field or "", problems)
    return UpstreamError(f"the Kubernetes API answered {exc.status} {exc.reason}", "")


@asynccontextmanager
async def _translated(what: str) -> AsyncIterator[None]:
    try:
        yield
    except ApiException as exc:
        raise translate(exc, what) from None
    except (TimeoutError, OSError, aiohttp.ClientError) as exc:
        raise UpstreamError(f"the Kubernetes API is unreachable: {exc}", "") from None


class KubeFacade:
    """Typed wrappers over the calls the routes need."""

    def __init__(self, api: client.ApiClient) -> None:
        self.api = api
        self.cache = JobCache(api)
        self._custom = client.CustomObjectsApi(api)
        self._core = client.CoreV1Api(api)
        self._batch = client.BatchV1Api(api)
        self._names: dict[tuple[str, str], str] = {}

    async def close(self) -> None:
        await self.cache.close()
        await self.api.close()

    def _remember(self, obj: dict[str, Any]) -> None:
        meta = obj.get("metadata") or {}
        if len(self._names) >= _UID_CACHE_MAX:
            self._names.clear()
        self._names[(meta.get("namespace", ""), meta.get("uid", ""))] = meta.get("name", "")

    async def list_jobs(self, namespace: str, *, cached: bool = False) -> list[dict[str, Any]]:
        """Every ScheduledJob of the namespace (none when it does not exist); ``cached``
        answers from the watched copy (milliseconds behind writes by others)."""
        if cached:
            found = await self.cache.list(namespace)
            if found is not None:
                return found
        async with _translated("namespace"):
            reply = await self._custom.list_namespaced_custom_object(
                API_GROUP, VERSION, namespace, PLURAL
            )
        items: list[dict[str, Any]] = reply.get("items") or []
        for item in items:
            item.setdefault("metadata", {}).setdefault("namespace", namespace)
            self._remember(item)
        return items

    async def get_job(self, namespace: str, uid: str) -> dict[str, Any]:
        """The ScheduledJob with this uid in this namespace, else a 404 (never another's)."""
        name = self._names.get((namespace, uid))
        if name:
            try:
                obj: dict[str, Any] = await self._custom.get_namespaced_custom_object(
                    API_GROUP, VERSION, namespace, PLURAL, name
                )
            except ApiException as exc:
                if exc.status != 404:
                    raise translate(exc, "job") from None
            else:
                if obj["metadata"].get("uid") == uid:
                    return obj
        for item in await self.list_jobs(namespace):
            if item["metadata"].get("uid") == uid:
                return item
        raise NotFoundError(f"no job with id {uid!r}", "id")

    async def create_job(self, namespace: str, body: dict[str, Any]) -> dict[str, Any]:
        async with _translated("job"):
            obj: dict[str, Any] = await self._custom.create_namespaced_custom_object(
                API_GROUP, VERSION, namespace, PLURAL, body
            )
        self._remember(obj)
        self.cache.written(obj)
        return obj

    async def update_job(self, namespace: str, uid: str, mutate: Mutation) -> dict[str, Any]:
        """Read, ``mutate`` and replace guarded by resourceVersion; conflicts are retried
        (someone else wrote in between) and reported as 409 when they persist."""
        for _ in range(UPDATE_ATTEMPTS):
            current = await self.get_job(namespace, uid)
            body = mutate(current)
            try:
                obj: dict[str, Any] = await self._custom.replace_namespaced_custom_object(
                    API_GROUP, VERSION, namespace, PLURAL, current["metadata"]["name"], body
                )
            except ApiException as exc:
                if exc.status == 409:
                    continue
                raise translate(exc, "job") from None
            self.cache.written(obj)
            return obj
        raise ConflictError("the job kept changing while it was updated; retry", "id")

    async def delete_job(
        self, namespace: str, uid: str, check: Callable[[dict[str, Any]], None] | None = None
    ) -> dict[str, Any]:
        """Delete by name with a uid precondition, so a same-named newer object survives;
        ``check`` sees the object first and may refuse by raising."""
        current = await self.get_job(namespace, uid)
        if check is not None:
            check(current)
        body = {"preconditions": {"uid": uid}, "propagationPolicy": "Background"}
        async with _translated("job"):
            await self._custom.delete_namespaced_custom_object(
                API_GROUP, VERSION, namespace, PLURAL, current["metadata"]["name"], body=body
            )
        self._names.pop((namespace, uid), None)
        self.cache.deleted(current)
        return current

    async def list_templates(self, namespace: str) -> list[dict[str, Any]]:
        """Namespaced JobTemplates first, then ClusterJobTemplates."""
        async with _translated("template"):
            local, cluster = await asyncio.gather(
                self._custom.list_namespaced_custom_object(
                    API_GROUP, VERSION, namespace, JOB_TEMPLATES
                ),
                self._custom.list_cluster_custom_object(API_GROUP, VERSION, CLUSTER_JOB_TEMPLATES),
            )
        return [*(local.get("items") or []), *(cluster.get("items") or [])]

    async def get_template(self, namespace: str, name: str) -> dict[str, Any] | None:
        """The template a job of this namespace would run: namespaced first."""
        reads: list[Callable[[], Awaitable[Any]]] = [
            lambda: self._custom.get_namespaced_custom_object(
                API_GROUP, VERSION, namespace, JOB_TEMPLATES, name
            ),
            lambda: self._custom.get_cluster_custom_object(
                API_GROUP, VERSION, CLUSTER_JOB_TEMPLATES, name
            ),
        ]
        for read in reads:
            try:
                found: dict[str, Any] = await read()
            except ApiException as exc:
                if exc.status == 404:
                    continue
                raise translate(exc, "template") from None
            return found
        return None

    async def namespace_labels(self, namespace: str) -> dict[str, str] | None:
        """The namespace's labels, or None when it does not exist."""
        try:
            ns = await self._core.read_namespace(namespace)
        except ApiException as exc:
            if exc.status == 404:
                return None
            raise translate(exc, "namespace") from None
        return dict(ns.metadata.labels or {})

    async def namespace_policy(self, namespace: str) -> NamespacePolicy:
        """What the namespace's metadata allows its jobs (:mod:`almanac.core.namespaces`)."""
        try:
            ns = await self._core.read_namespace(namespace)
        except ApiException as exc:
            if exc.status == 404:
                return NamespacePolicy()
            raise translate(exc, "namespace") from None
        meta = ns.metadata
        return NamespacePolicy.from_metadata(
            {"labels": meta.labels or {}, "annotations": meta.annotations or {}}
        )

    async def queued_jobs(self, namespace: str) -> list[dict[str, Any]]:
        """The namespace's run Jobs waiting in the launch queue (``GET /queue``)."""
        async with _translated("namespace"):
            reply = await read_reply(
                self._batch.list_namespaced_job(
                    namespace, label_selector=f"{LABEL_QUEUED}=true", _preload_content=False
                )
            )
        items: list[dict[str, Any]] = json.loads(reply).get("items") or []
        return items

    async def priority_class_exists(self, name: str) -> bool:
        """Whether the cluster has a PriorityClass ``name`` (a job's ``priority``)."""
        scheduling = client.SchedulingV1Api(self.api)
        try:
            await read_reply(scheduling.read_priority_class(name, _preload_content=False))
        except ApiException as exc:
            if exc.status == 404:
                return False
            raise translate(exc, "PriorityClass") from None
        return True

    async def create_namespace(self, namespace: str, labels: dict[str, str]) -> None:
        """Create it (a concurrent creation by another request is fine)."""
        body = {
            "apiVersion": "v1",
            "kind": "Namespace",
            "metadata": {"name": namespace, "labels": labels},
        }
        try:
            await read_reply(self._core.create_namespace(body, _preload_content=False))
        except ApiException as exc:
            if exc.status != 409:
                raise translate(exc, "namespace") from None

    async def create_namespace_objects(
        self, namespace: str, objects: Sequence[Mapping[str, Any]]
    ) -> None:
        """Create ``objects`` (ResourceQuota, LimitRange, NetworkPolicy) in ``namespace``;
        one that exists already is left as it is."""
        networking = client.NetworkingV1Api(self.api)
        create = {
            "ResourceQuota": self._core.create_namespaced_resource_quota,
            "LimitRange": self._core.create_namespaced_limit_range,
            "NetworkPolicy": networking.create_namespaced_network_policy,
        }
        for obj in objects:
            body = {**obj, "metadata": {**obj["metadata"], "namespace": namespace}}
            try:
                await read_reply(create[obj["kind"]](namespace, body, _preload_content=False))
            except ApiException as exc:
                if exc.status != 409:
                    raise translate(exc, str(obj["kind"])) from None

    async def get_run_job(self, namespace: str, name: str) -> dict[str, Any] | None:
        """A run's Job (labels only matter), or None."""
        try:
            body = await read_reply(
                self._batch.read_namespaced_job(name, namespace, _preload_content=False)
            )
        except ApiException as exc:
            if exc.status == 404:
                return None
            raise translate(exc, "run") from None
        job: dict[str, Any] = json.loads(body)
        return job

    async def run_log(self, namespace: str, run: str, limits: LogTailLimits) -> LogTail | None:
        """The live tail of run ``run``'s container log, from its newest pod (``None``: no
        pod, or it has not started)."""
        try:
            pods = await self._core.list_namespaced_pod(namespace, label_selector=f"job-name={run}")
            if not pods.items:
                return None
            pod = max(pods.items, key=lambda p: p.metadata.creation_timestamp)
            text = await self._core.read_namespaced_pod_log(
                pod.metadata.name, namespace, container=RUN_CONTAINER, **read_args(limits)
            )
        except ApiException as exc:
            if exc.status in (400, 404):  # gone, or the container is still being created
                return None
            raise translate(exc, "run") from None
        return tail_from_server(str(text), limits)

    async def list_job_events(self, namespace: str, uid: str) -> list[dict[str, Any]]:
        """The core/v1 Events whose involved object is the ScheduledJob ``uid`` (the API
        server keeps them an hour by default), in pages, at most :data:`EVENT_PAGES` of
        them: the caller sorts, the server cannot."""
        found: list[dict[str, Any]] = []
        token: str | None = None
        for _ in range(EVENT_PAGES):
            async with _translated("events"):
                reply = json.loads(
                    await read_reply(
                        self._core.list_namespaced_event(
                            namespace,
                            field_selector=f"involvedObject.uid={uid}",
                            limit=EVENT_PAGE_SIZE,
                            _continue=token,
                            _preload_content=False,
                        )
                    )
                )
            found += reply.get("items") or []
            token = (reply.get("metadata") or {}).get("continue") or None
            if token is None:
                break
        return found

    async def create_run_request(self, namespace: str, body: dict[str, Any]) -> bool:
        """Ask the operator for a run (a RunRequest); False when it was asked already."""
        try:
            await self._custom.create_namespaced_custom_object(
                API_GROUP, VERSION, namespace, REQUESTS, body
            )
        except ApiException as exc:
            if exc.status == 409 and _reason(exc) == "AlreadyExists":
                return False
            raise translate(exc, "run") from None
        return True

    async def get_run_request(self, namespace: str, name: str) -> dict[str, Any] | None:
        """A RunRequest the facade wrote (a run-now asked before with the same key)."""
        try:
            found: dict[str, Any] = await self._custom.get_namespaced_custom_object(
                API_GROUP, VERSION, namespace, REQUESTS, name
            )
        except ApiException as exc:
            if exc.status == 404:
                return None
            raise translate(exc, "run") from None
        return found

    async def ping(self) -> None:
        """Raise :class:`UpstreamError` when the API server does not answer."""
        async with _translated("version"):
            await client.VersionApi(self.api).get_code()
