"""The CLI's Kubernetes calls, as the user (their kubeconfig, so their RBAC applies).

The CLI keeps no state: it reads ScheduledJobs, their Jobs, pods and Events, patches a
ScheduledJob's spec or annotations (suspend, the run-now and retry requests the operator
carries out), and reads templates for ``render``. Refusals from the API server become the
CLI's errors here, once (:mod:`.errors`); bodies are plain dicts, as ``kubectl`` shows them.
"""

from __future__ import annotations

import json
import os
from argparse import Namespace
from collections.abc import AsyncIterator, Awaitable, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

import aiohttp
from kubernetes_asyncio import client, config
from kubernetes_asyncio.client.exceptions import ApiException
from kubernetes_asyncio.config import ConfigException

from almanac.cli.errors import CliError, NotFoundError, SetupError
from almanac.core.errors import InvalidInputError
from almanac.core.vocabulary import (
    CLUSTER_JOB_TEMPLATES,
    GROUP,
    JOB_TEMPLATES,
    LABEL_SCHEDULED_JOB_UID,
    SCHEDULED_JOBS,
    VERSION,
)

__all__ = ["Cluster", "connected", "find_kubeconfig", "open_cluster"]

DEFAULT_KUBECONFIG: Final = Path("~/.kube/config")
KUBECONFIG_VARIABLE: Final = "KUBECONFIG"
#: Set in every pod: the CLI then talks to its own cluster with the pod's account.
IN_CLUSTER_VARIABLE: Final = "KUBERNETES_SERVICE_HOST"
MERGE_PATCH: Final = "application/merge-patch+json"


def find_kubeconfig(flag: str | None, env: Mapping[str, str]) -> str | None:
    """The kubeconfig file to use, as kubectl picks it (``--kubeconfig``, then the first
    existing file of ``$KUBECONFIG``, then ``~/.kube/config``); ``None``: in a pod, use its
    account. Raises :class:`SetupError` naming both ways to give one."""
    if flag:
        if not Path(flag).expanduser().is_file():
            raise SetupError(f"no kubeconfig file at {flag}", "--kubeconfig")
        return str(Path(flag).expanduser())
    listed = [p for p in env.get(KUBECONFIG_VARIABLE, "").split(os.pathsep) if p]
    for path in [*listed, str(DEFAULT_KUBECONFIG)]:
        if Path(path).expanduser().is_file():
            return str(Path(path).expanduser())
    if env.get(IN_CLUSTER_VARIABLE):
        return None
    raise SetupError(
        "no kubeconfig found: set KUBECONFIG or pass --kubeconfig (looked in "
        f"{', '.join([*listed, str(DEFAULT_KUBECONFIG)])})",
        "",
    )


def _context_namespace(path: str | None, context: str | None) -> str:
    """The namespace the kubeconfig's (current or named) context sets, else ``default``."""
    if path is None:
        token = Path("/var/run/secrets/kubernetes.io/serviceaccount/namespace")
        return token.read_text().strip() if token.is_file() else "default"
    contexts, active = config.list_kube_config_contexts(path)
    chosen = next((c for c in contexts if c.get("name") == context), None) if context else active
    return str(((chosen or {}).get("context") or {}).get("namespace") or "default")


async def open_cluster(
    kubeconfig: str | None, context: str | None, namespace: str | None
) -> Cluster:
    """Load credentials (see :func:`find_kubeconfig`) and return the client; close it with
    :meth:`Cluster.aclose`."""
    path = find_kubeconfig(kubeconfig, os.environ)
    configuration = client.Configuration()
    try:
        if path is None:
            config.load_incluster_config(client_configuration=configuration)
        else:
            await config.load_kube_config(
                config_file=path, context=context, client_configuration=configuration
            )
    except ConfigException as exc:
        raise SetupError(f"the kubeconfig cannot be used: {exc}", "--kubeconfig") from None
    chosen = namespace or _context_namespace(path, context)
    return Cluster(client.ApiClient(configuration), chosen, configuration.host)


def _refusal(exc: ApiException, what: str) -> CliError | InvalidInputError:
    """The API server's answer as the CLI's error, with its own message."""
    try:
        body = json.loads(exc.body or "{}")
    except ValueError:
        body = {}
    message = str(body.get("message") or exc.reason)
    if exc.status == 404:
        return NotFoundError(f"{what} not found", "")
    if exc.status == 422:
        return InvalidInputError(message, "")
    if exc.status in (401, 403):
        return CliError(f"the API server refused: {message}", "")
    return CliError(f"{what}: the API server answered {exc.status}: {message}", "")


@dataclass
class Cluster:
    """One API client and the namespace verbs act in."""

    api: client.ApiClient
    namespace: str
    host: str

    async def aclose(self) -> None:
        await self.api.close()

    async def _call(self, what: str, call: Awaitable[Any]) -> Any:
        try:
            reply = await call
        except ApiException as exc:
            raise _refusal(exc, what) from None
        except aiohttp.ClientError as exc:
            raise CliError(f"cannot reach the API server at {self.host}: {exc}", "") from None
        return reply

    async def _json(self, what: str, call: Awaitable[Any]) -> Any:
        """A ``_preload_content=False`` call's JSON body (Jobs and pods as plain dicts)."""
        reply = await self._call(what, call)
        if not 200 <= reply.status <= 299:
            exc = ApiException(status=reply.status, reason=reply.reason)
            exc.body = await reply.read()
            raise _refusal(exc, what)
        return json.loads(await reply.read())

    # -- ScheduledJobs --------------------------------------------------------------------

    async def scheduled_job(self, name: str) -> dict[str, Any]:
        custom = client.CustomObjectsApi(self.api)
        found: dict[str, Any] = await self._call(
            f'scheduledjob "{name}" in namespace {self.namespace}',
            custom.get_namespaced_custom_object(
                GROUP, VERSION, self.namespace, SCHEDULED_JOBS, name
            ),
        )
        return found

    async def scheduled_jobs(
        self, selector: str | None = None, *, all_namespaces: bool = False
    ) -> list[dict[str, Any]]:
        custom = client.CustomObjectsApi(self.api)
        kwargs = {"label_selector": selector} if selector else {}
        if all_namespaces:
            call = custom.list_cluster_custom_object(GROUP, VERSION, SCHEDULED_JOBS, **kwargs)
        else:
            call = custom.list_namespaced_custom_object(
                GROUP, VERSION, self.namespace, SCHEDULED_JOBS, **kwargs
            )
        listed = await self._call("scheduledjobs", call)
        items: list[dict[str, Any]] = listed.get("items") or []
        return sorted(items, key=lambda o: (o["metadata"]["namespace"], o["metadata"]["name"]))

    async def patch_scheduled_job(self, name: str, patch: Mapping[str, Any]) -> dict[str, Any]:
        """A JSON merge patch (annotations set to ``None`` are removed), as the user."""
        custom = client.CustomObjectsApi(self.api)
        patched: dict[str, Any] = await self._call(
            f'scheduledjob "{name}" in namespace {self.namespace}',
            custom.patch_namespaced_custom_object(
                GROUP,
                VERSION,
                self.namespace,
                SCHEDULED_JOBS,
                name,
                dict(patch),
                _content_type=MERGE_PATCH,
            ),
        )
        return patched

    # -- runs: Jobs, pods, Events -------------------------------------------------------

    async def jobs_of(self, uid: str) -> list[dict[str, Any]]:
        """The run Jobs of a ScheduledJob (selected by its uid: names may be truncated)."""
        batch = client.BatchV1Api(self.api)
        listed = await self._json(
            "jobs",
            batch.list_namespaced_job(
                self.namespace,
                label_selector=f"{LABEL_SCHEDULED_JOB_UID}={uid}",
                _preload_content=False,
            ),
        )
        items: list[dict[str, Any]] = listed.get("items") or []
        return items

    async def job(self, name: str) -> dict[str, Any]:
        """One run's Job."""
        batch = client.BatchV1Api(self.api)
        found: dict[str, Any] = await self._json(
            f'run "{name}" (a Job) in namespace {self.namespace}',
            batch.read_namespaced_job(name, self.namespace, _preload_content=False),
        )
        return found

    async def pods_of(self, job: str) -> list[dict[str, Any]]:
        """A run's pods, oldest first (``job-name`` is the label the Job controller sets)."""
        core = client.CoreV1Api(self.api)
        listed = await self._json(
            "pods",
            core.list_namespaced_pod(
                self.namespace, label_selector=f"job-name={job}", _preload_content=False
            ),
        )
        items: list[dict[str, Any]] = listed.get("items") or []
        return sorted(items, key=lambda p: str(p["metadata"].get("creationTimestamp") or ""))

    async def events_of(self, name: str, uid: str) -> list[dict[str, Any]]:
        core = client.CoreV1Api(self.api)
        listed = await self._json(
            "events",
            core.list_namespaced_event(
                self.namespace,
                field_selector=f"involvedObject.name={name},involvedObject.uid={uid}",
                _preload_content=False,
            ),
        )
        items: list[dict[str, Any]] = listed.get("items") or []
        return items

    async def log_lines(
        self, pod: str, *, follow: bool, container: str = "run"
    ) -> AsyncIterator[str]:
        """A pod's log, line by line; with ``follow``, until the container ends."""
        core = client.CoreV1Api(self.api)
        reply = await self._call(
            f'logs of pod "{pod}"',
            core.read_namespaced_pod_log(
                pod, self.namespace, container=container, follow=follow, _preload_content=False
            ),
        )
        if not 200 <= reply.status <= 299:
            exc = ApiException(status=reply.status, reason=reply.reason)
            exc.body = await reply.read()
            raise _refusal(exc, f'logs of pod "{pod}"')
        async for raw in reply.content:
            yield raw.decode(errors="replace").rstrip("\n")

    # -- templates ------------------------------------------------------------------------

    async def template(
        self, name: str, namespace: str | None = None
    ) -> tuple[dict[str, Any] | None, dict[str, Any] | None]:
        """The specs of the namespace's JobTemplate and the ClusterJobTemplate of ``name``
        (either may be ``None``); :func:`~almanac.core.templateuse.choose_template` picks."""
        custom = client.CustomObjectsApi(self.api)
        namespace = namespace or self.namespace

        async def read(call: Awaitable[Any]) -> dict[str, Any] | None:
            try:
                found: dict[str, Any] = await self._call(f'template "{name}"', call)
            except NotFoundError:
                return None
            spec: dict[str, Any] = found.get("spec") or {}
            return spec

        own = await read(
            custom.get_namespaced_custom_object(GROUP, VERSION, namespace, JOB_TEMPLATES, name)
        )
        cluster = await read(
            custom.get_cluster_custom_object(GROUP, VERSION, CLUSTER_JOB_TEMPLATES, name)
        )
        return own, cluster


@asynccontextmanager
async def connected(args: Namespace) -> AsyncIterator[Cluster]:
    """The cluster for one command, from its ``--kubeconfig``, ``--context`` and
    ``-n/--namespace`` flags; closed after."""
    cluster = await open_cluster(args.kubeconfig, args.context, args.namespace)
    try:
        yield cluster
    finally:
        await cluster.aclose()
