"""The ``ValidatingWebhookConfiguration`` that points the API server at the webhook.

A ``url:`` reference serves the local stack (the API server dials 127.0.0.1); the chart
uses a ``service:`` reference. Replicas apply it with server-side apply, so they may race.

``trusted_users`` are writers that run the webhook's own check before they write (the REST
facade's identity): a ``matchCondition`` on the requesting user keeps the API server from
calling the webhook for their ScheduledJob writes, one HTTPS round trip less per create.
The condition reads the authenticated user, which a client cannot choose, unlike a label.

``run_request_writers`` (the operator's own user and the facade's) are the only users that
may write RunRequests: the API server skips the webhook for them and sends every other
RunRequest write, which the webhook refuses.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Final, Literal

from kubernetes_asyncio import client
from kubernetes_asyncio.client.exceptions import ApiException

from almanac.core.vocabulary import GROUP, VERSION

from .webhook import RUNREQUESTS_PATH, SCHEDULEDJOBS_PATH, TEMPLATES_PATH

__all__ = [
    "ALL_RESOURCES",
    "CONFIGURATION_NAME",
    "ServiceReference",
    "apply_webhook_configuration",
    "delete_webhook_configuration",
    "skip_users_condition",
    "webhook_configuration",
]

CONFIGURATION_NAME: Final = "almanac-scheduledjobs"
ALL_RESOURCES: Final = ("scheduledjobs", "jobtemplates", "clusterjobtemplates", "runrequests")
_PATHS: Final = {
    "scheduledjobs": SCHEDULEDJOBS_PATH,
    "jobtemplates": TEMPLATES_PATH,
    "clusterjobtemplates": TEMPLATES_PATH,
    "runrequests": RUNREQUESTS_PATH,
}
FIELD_MANAGER: Final = "almanac-operator"


@dataclass(frozen=True)
class ServiceReference:
    """The Service in front of the webhook (``clientConfig.service``, path added per hook)."""

    namespace: str
    name: str
    port: int = 443


def webhook_configuration(
    ca_bundle: str,
    *,
    name: str = CONFIGURATION_NAME,
    url: str | None = None,
    service: ServiceReference | None = None,
    failure_policy: Literal["Fail", "Ignore"] = "Fail",
    namespace_selector: Mapping[str, Any] | None = None,
    resources: Sequence[str] = ALL_RESOURCES,
    trusted_users: Sequence[str] = (),
    run_request_writers: Sequence[str] = (),
) -> dict[str, Any]:
    """The ``ValidatingWebhookConfiguration`` as a plain dict (one webhook per resource).

    Parameters
    ----------
    url
        Base URL the API server dials (``https://127.0.0.1:9443``; local stack only).
    service
        The Service in front of the replicas (the chart's way); exactly one of the two.
    namespace_selector
        Limits namespaced resources (tests scope to their own namespace); cluster-scoped
        ClusterJobTemplates are always sent.
    trusted_users
        Usernames whose ScheduledJob writes are not sent (they run
        :func:`~almanac.core.specs.check_spec` themselves: the facade).
    run_request_writers
        Usernames that may write RunRequests (required with ``runrequests``): the API
        server sends only the other writers' RunRequests, which the webhook refuses.
    """
    if (url is None) == (service is None):
        raise ValueError("give exactly one of url and service")
    unknown = set(resources) - set(ALL_RESOURCES)
    if unknown or not resources:
        raise ValueError(f"resources must be some of {', '.join(ALL_RESOURCES)}")
    if "runrequests" in resources and not run_request_writers:
        raise ValueError("runrequests needs run_request_writers (at least the operator's user)")

    def client_config(path: str) -> dict[str, Any]:
        if url is not None:
            return {"url": url.rstrip("/") + path, "caBundle": ca_bundle}
        assert service is not None
        ref = {"namespace": service.namespace, "name": service.name, "port": service.port}
        return {"service": {**ref, "path": path}, "caBundle": ca_bundle}

    webhooks = []
    for resource in resources:
        path = _PATHS[resource]
        hook: dict[str, Any] = {
            "name": f"{resource}.validate.{GROUP}",
            "clientConfig": client_config(path),
            "rules": [
                {
                    "apiGroups": [GROUP],
                    "apiVersions": [VERSION],
                    "operations": ["CREATE", "UPDATE"],
                    "resources": [resource],
                    "scope": "Cluster" if resource == "clusterjobtemplates" else "Namespaced",
                }
            ],
            "sideEffects": "None",
            "admissionReviewVersions": ["v1"],
            "failurePolicy": failure_policy,
            "matchPolicy": "Equivalent",
            "timeoutSeconds": 5,
        }
        if namespace_selector is not None:
            hook["namespaceSelector"] = dict(namespace_selector)
        if trusted_users and resource == "scheduledjobs":
            hook["matchConditions"] = [skip_users_condition(trusted_users)]
        if resource == "runrequests":
            hook["matchConditions"] = [skip_users_condition(run_request_writers)]
        webhooks.append(hook)
    return {
        "apiVersion": "admissionregistration.k8s.io/v1",
        "kind": "ValidatingWebhookConfiguration",
        "metadata": {"name": name, "labels": {"app.kubernetes.io/name": "almanac"}},
        "webhooks": webhooks,
    }


def skip_users_condition(users: Sequence[str]) -> dict[str, str]:
    """A ``matchCondition`` true for every requester but ``users`` (a CEL list of strings;
    JSON string literals are valid CEL ones)."""
    if not users or any(not u or not u.isprintable() for u in users):
        raise ValueError("trusted users must be non-empty printable usernames")
    names = ", ".join(json.dumps(u) for u in users)
    return {
        "name": "not-a-trusted-writer",
        "expression": f"!(request.userInfo.username in [{names}])",
    }


async def apply_webhook_configuration(api: client.ApiClient, body: Mapping[str, Any]) -> None:
    """Create or update the configuration (server-side apply: replicas may race safely)."""
    await client.AdmissionregistrationV1Api(api).patch_validating_webhook_configuration(
        body["metadata"]["name"],
        dict(body),
        field_manager=FIELD_MANAGER,
        force=True,
        _content_type="application/apply-patch+yaml",
    )


async def delete_webhook_configuration(api: client.ApiClient, name: str) -> None:
    """Delete the configuration; already gone is fine."""
    try:
        await client.AdmissionregistrationV1Api(api).delete_validating_webhook_configuration(name)
    except ApiException as exc:
        if exc.status != 404:
            raise
