"""The API calls the scheduler makes itself (Kopf only watches): Jobs, status, Events, and
the suspension of a job that reached ``spec.pauseAfterFailures``.

One place maps API failures: AlreadyExists on create means "already launched"
(invariant one-run-per-slot), NotFound on delete means "already gone".
"""

from __future__ import annotations

import json
import os
from collections.abc import Awaitable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from kubernetes_asyncio import client, config
from kubernetes_asyncio.client.exceptions import ApiException

from almanac.core.admission import TemplateRules, rules_of
from almanac.core.logtail import LogTail, LogTailLimits, read_args, tail_from_server
from almanac.core.namespaces import NamespacePolicy
from almanac.core.naming import rfc3339_utc
from almanac.core.powers import Power
from almanac.core.runs import API_VERSION, BUILTIN_TEMPLATES, RUN_CONTAINER
from almanac.core.snapshot import ObjectRef
from almanac.core.vocabulary import (
    ANNOTATION_SUSPEND_REASON,
    CLUSTER_JOB_TEMPLATES,
    GROUP,
    JOB_TEMPLATES,
    RUN_REQUESTS,
    SCHEDULED_JOBS,
    VERSION,
)
from almanac.templates import builtin_params_schema

__all__ = [
    "Kube",
    "ObjectRef",
    "RunOutcome",
    "event_body",
    "load_api_client",
    "raise_for_status",
    "read_reply",
]

PLURAL = SCHEDULED_JOBS
REQUESTS = RUN_REQUESTS
POOL_SIZE = 128


async def load_api_client(kubeconfig: str | None = None) -> client.ApiClient:
    """In-cluster credentials in a pod, else ``KUBECONFIG`` (as kubectl does); an explicit
    ``kubeconfig`` file wins over both."""
    configuration = client.Configuration()
    if kubeconfig is None and os.environ.get("KUBERNETES_SERVICE_HOST"):
        config.load_incluster_config(client_configuration=configuration)
    else:
        await config.load_kube_config(config_file=kubeconfig, client_configuration=configuration)
    # Enough connections for the scheduler's concurrent launches plus the writer.
    configuration.connection_pool_maxsize = POOL_SIZE
    api = client.ApiClient(configuration)
    # kubernetes_asyncio's session trusts the environment, so aiohttp looks up proxy
    # variables and reads ~/.netrc in a worker thread on *every* request: 10-15% of the
    # operator's CPU in a launch burst. The API server is never reached through a proxy
    # here; ``configuration.proxy`` still works when one is set explicitly.
    api.rest_client.pool_manager._trust_env = False
    return api


class Kube:
    """Typed wrappers over the few calls the scheduler needs."""

    def __init__(self, api: client.ApiClient, component: str) -> None:
        self.api = api
        self._batch = client.BatchV1Api(api)
        self._core = client.CoreV1Api(api)
        self._custom = client.CustomObjectsApi(api)
        self.coordination = client.CoordinationV1Api(api)
        self._component = component
        #: How much of a finished run's log is kept with its history row.
        self.log_limits = LogTailLimits()

    async def close(self) -> None:
        await self.api.close()

    async def create_job(self, namespace: str, body: dict[str, Any]) -> bool:
        """Create a run's Job; False when it already exists (already launched)."""
        # The reply is not deserialised: a V1Job costs more than the request.
        return await _created(
            self._batch.create_namespaced_job(namespace, body, _preload_content=False)
        )

    async def delete_job(self, namespace: str, name: str) -> None:
        await _unless_gone(
            self._batch.delete_namespaced_job(
                name, namespace, propagation_policy="Background", _preload_content=False
            )
        )

    async def job_names(self, namespace: str, selector: str) -> list[str]:
        jobs = await self._batch.list_namespaced_job(namespace, label_selector=selector)
        return [job.metadata.name for job in jobs.items]

    async def run_outcome(self, namespace: str, job: str) -> RunOutcome:
        """The run pod's termination message, exit code, name and log tail (empty if no
        pod ended)."""
        pods = await self._core.list_namespaced_pod(namespace, label_selector=f"job-name={job}")
        for pod in pods.items:
            for status in (pod.status.container_statuses or []) if pod.status else []:
                terminated = status.state.terminated if status.state else None
                if terminated and status.name == RUN_CONTAINER:
                    name = pod.metadata.name
                    log = await self.log_tail(namespace, name, self.log_limits)
                    return RunOutcome(terminated.message or "", terminated.exit_code, name, log)
        return RunOutcome()

    async def log_tail(self, namespace: str, pod: str, limits: LogTailLimits) -> LogTail | None:
        """The newest lines of the run container's log (``None``: none kept, or unreadable:
        the run is then recorded without its log rather than not at all)."""
        if not limits.enabled:
            return None
        try:
            text = await self._core.read_namespaced_pod_log(
                pod, namespace, container=RUN_CONTAINER, **read_args(limits)
            )
        except (ApiException, OSError):
            return None
        return tail_from_server(str(text), limits)

    async def patch_status(
        self, ref: ObjectRef, status: dict[str, Any], resource_version: str | None
    ) -> str:
        """Merge-patch ``status``, guarded by resourceVersion; returns the new version."""
        body: dict[str, Any] = {"status": status}
        if resource_version:
            body["metadata"] = {"resourceVersion": resource_version, "uid": ref.uid}
        result = await self._custom.patch_namespaced_custom_object_status(
            GROUP,
            VERSION,
            ref.namespace,
            PLURAL,
            ref.name,
            body,
            _content_type="application/merge-patch+json",
        )
        return str(result["metadata"]["resourceVersion"])

    async def suspend_scheduled_job(self, ref: ObjectRef, reason: str) -> None:
        """Merge-patch ``spec.suspend: true`` and the suspend reason annotation in one
        write (the operator's only spec write). The uid is part of the patch: a job
        deleted and made again under the same name refuses it (uids are immutable)."""
        body = {
            "metadata": {"uid": ref.uid, "annotations": {ANNOTATION_SUSPEND_REASON: reason}},
            "spec": {"suspend": True},
        }
        await self._custom.patch_namespaced_custom_object(
            GROUP,
            VERSION,
            ref.namespace,
            PLURAL,
            ref.name,
            body,
            _content_type="application/merge-patch+json",
        )

    async def create_run_request(self, namespace: str, body: dict[str, Any]) -> bool:
        """Create a RunRequest; False when it already exists (the event was accepted
        before: this is the dedup of redelivered events)."""
        return await _created(
            self._custom.create_namespaced_custom_object(
                GROUP, VERSION, namespace, REQUESTS, body, _preload_content=False
            )
        )

    async def patch_run_request_status(
        self, namespace: str, name: str, status: Mapping[str, Any]
    ) -> None:
        await _unless_gone(
            self._custom.patch_namespaced_custom_object_status(
                GROUP,
                VERSION,
                namespace,
                REQUESTS,
                name,
                {"status": dict(status)},
                _content_type="application/merge-patch+json",
                _preload_content=False,
            )
        )

    async def run_requests(self, namespace: str, selector: str) -> list[dict[str, Any]]:
        """RunRequests matching a label selector (read from the API, not the watch: a
        cancel must see a request created a moment ago)."""
        found = await self._custom.list_namespaced_custom_object(
            GROUP, VERSION, namespace, REQUESTS, label_selector=selector
        )
        return list(found.get("items", []))

    async def delete_run_request(self, namespace: str, name: str) -> None:
        await _unless_gone(
            self._custom.delete_namespaced_custom_object(
                GROUP, VERSION, namespace, REQUESTS, name, _preload_content=False
            )
        )

    async def scheduled_job_specs(self, namespace: str) -> dict[str, Any]:
        """Name → spec of every ScheduledJob in ``namespace`` (admission's chain check)."""
        found = await self._custom.list_namespaced_custom_object(GROUP, VERSION, namespace, PLURAL)
        return {i["metadata"]["name"]: i.get("spec") or {} for i in found.get("items", [])}

    async def may(self, user: Mapping[str, Any], namespace: str, power: Power) -> bool:
        """Whether ``user`` (an AdmissionReview's ``userInfo``) may use ``power`` in
        ``namespace`` themselves: one SubjectAccessReview."""
        body = {
            "apiVersion": "authorization.k8s.io/v1",
            "kind": "SubjectAccessReview",
            "spec": {
                "user": user.get("username"),
                "groups": user.get("groups") or [],
                "uid": user.get("uid"),
                "extra": user.get("extra") or {},
                "resourceAttributes": {
                    "namespace": namespace,
                    "verb": power.verb,
                    "resource": power.resource,
                    **({"name": power.name} if power.name else {}),
                },
            },
        }
        reply = await read_reply(
            client.AuthorizationV1Api(self.api).create_subject_access_review(
                body, _preload_content=False
            )
        )
        return bool((json.loads(reply).get("status") or {}).get("allowed"))

    async def template_rules(self, namespace: str, name: str) -> TemplateRules | None:
        """What the template ``name`` resolves to in ``namespace`` asks of its jobs (the
        namespace's JobTemplate, else the ClusterJobTemplate, else the built-in type);
        ``None`` when there is no such template (admission)."""

        async def read(plural: str, scoped: bool) -> dict[str, Any] | None:
            try:
                if scoped:
                    found = await self._custom.get_namespaced_custom_object(
                        GROUP, VERSION, namespace, plural, name
                    )
                else:
                    found = await self._custom.get_cluster_custom_object(
                        GROUP, VERSION, plural, name
                    )
            except ApiException as exc:
                if exc.status == 404:
                    return None
                raise
            spec: dict[str, Any] = found.get("spec") or {}
            return spec

        own = await read(JOB_TEMPLATES, scoped=True)
        cluster = None if own is not None else await read(CLUSTER_JOB_TEMPLATES, scoped=False)
        found = rules_of(own, cluster)
        if found is not None:
            return found
        if name in BUILTIN_TEMPLATES:
            return TemplateRules(None, builtin_params_schema(name))
        return None

    async def namespace_policy(self, namespace: str) -> NamespacePolicy:
        """What ``namespace``'s metadata says (its organisation, its Kafka topics); a
        namespace that does not exist says nothing."""
        try:
            reply = await read_reply(
                client.CoreV1Api(self.api).read_namespace(namespace, _preload_content=False)
            )
        except ApiException as exc:
            if exc.status == 404:
                return NamespacePolicy()
            raise
        return NamespacePolicy.from_metadata(json.loads(reply).get("metadata"))

    async def whoami(self) -> str:
        """The username the API server knows this process by (a SelfSubjectReview): the
        webhook lets this user, and no tenant, write RunRequests."""
        body = {"apiVersion": "authentication.k8s.io/v1", "kind": "SelfSubjectReview"}
        reply = await read_reply(
            client.AuthenticationV1Api(self.api).create_self_subject_review(
                body, _preload_content=False
            )
        )
        username = ((json.loads(reply).get("status") or {}).get("userInfo") or {}).get("username")
        if not isinstance(username, str) or not username:
            raise RuntimeError("the API server did not say who this operator is")
        return username

    async def get_resource_version(self, ref: ObjectRef) -> str:
        obj = await self._custom.get_namespaced_custom_object(
            GROUP, VERSION, ref.namespace, PLURAL, ref.name
        )
        return str(obj["metadata"]["resourceVersion"])

    async def post_event(
        self, ref: ObjectRef, reason: str, message: str, *, warning: bool = False
    ) -> None:
        """A Kubernetes Event on the ScheduledJob: what happened, in a sentence."""
        event = event_body(
            ref, reason, message, warning=warning, component=self._component, now=datetime.now(UTC)
        )
        await read_reply(
            self._core.create_namespaced_event(ref.namespace, event, _preload_content=False)
        )


def event_body(
    ref: ObjectRef, reason: str, message: str, *, warning: bool, component: str, now: datetime
) -> dict[str, Any]:
    """The Event :meth:`Kube.post_event` creates (the facade finds it by involvedObject.uid)."""
    return {
        "apiVersion": "v1",
        "kind": "Event",
        "metadata": {"generateName": f"{ref.name}.", "namespace": ref.namespace},
        "involvedObject": {
            "apiVersion": API_VERSION,
            "kind": "ScheduledJob",
            "name": ref.name,
            "namespace": ref.namespace,
            "uid": ref.uid,
        },
        "reason": reason,
        "message": message[:1024],
        "type": "Warning" if warning else "Normal",
        "source": {"component": component},
        "firstTimestamp": rfc3339_utc(now),
        "lastTimestamp": rfc3339_utc(now),
        "count": 1,
    }


async def _created(call: Awaitable[Any]) -> bool:
    """Await a create; False on AlreadyExists (idempotent creation, invariant one-run-per-slot)."""
    try:
        await read_reply(call)
    except ApiException as exc:
        if exc.status == 409:
            return False
        raise
    return True


async def _unless_gone(call: Awaitable[Any]) -> None:
    """Await a patch or delete; NotFound means the object is already gone."""
    try:
        await read_reply(call)
    except ApiException as exc:
        if exc.status != 404:
            raise


async def read_reply(call: Awaitable[Any]) -> bytes:
    """Await a ``_preload_content=False`` call and return its body; raise ApiException on
    an error status (kubernetes_asyncio raises on no status when the reply is unread)."""
    reply = await call
    await raise_for_status(reply)
    body: bytes = await reply.read()
    return body


async def raise_for_status(reply: Any) -> None:
    """Raise ApiException (with the server's body) for an unread reply's error status; a
    success leaves the body unread (a watch's stream is read as it arrives)."""
    if not 200 <= reply.status <= 299:
        exc = ApiException(status=reply.status, reason=reply.reason)
        exc.body = await reply.read()
        raise exc


@dataclass(frozen=True)
class RunOutcome:
    """How a run's container ended, as its pod reports it."""

    message: str = ""
    exit_code: int | None = None
    pod: str | None = None
    log: LogTail | None = None

    @property
    def summary(self) -> str:
        return summary_of(self.message)


def summary_of(message: str) -> str:
    """The executor writes ``{status, summary, details}``; show its summary."""
    try:
        result = json.loads(message)
    except ValueError:
        return message.strip()
    if isinstance(result, dict) and isinstance(result.get("summary"), str):
        return str(result["summary"])
    return message.strip()
