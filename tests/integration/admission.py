"""Admission on the real API server: a webhook served from the test process guards the
test's namespace.

The server runs in this process on 127.0.0.1 (the API server is a host process of the
stack) with the operator's own reads (the chain graph, SubjectAccessReviews); the webhook
configuration is unique to the test, scoped by ``namespaceSelector`` to the test's
namespace, and deleted at the end even when the test fails. kubectl runs in a thread so the
event loop keeps serving the API server's calls.
"""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from kubernetes_asyncio import client, config

from almanac.operator.certs import ca_bundle
from almanac.operator.kube import Kube
from almanac.operator.webhookconfig import (
    apply_webhook_configuration,
    delete_webhook_configuration,
    webhook_configuration,
)
from almanac.operator.webhookserver import start_webhook_server
from tests.support import Kubectl, KubectlError, eventually

#: How long the API server may take to see a new webhook configuration.
CONFIG_PROPAGATION = 30.0
#: A user whose ScheduledJob writes the webhook skips (as the facade's is in an install).
TRUSTED_WRITER = "almanac-test-facade"
#: kubectl renders a 422 Invalid refusal like the API server's own validation errors.
PROBE_REFUSED = "spec.schedule.cron: '61 * * * *': minute value 61 is out of range 0-59"


def scheduled_job(name: str, **schedule: Any) -> dict[str, Any]:
    return {
        "apiVersion": "almanac.dev/v1alpha1",
        "kind": "ScheduledJob",
        "metadata": {"name": name},
        "spec": {
            "template": "http",
            "params": {"url": "https://example.com/"},
            "schedule": schedule,
        },
    }


def job_template(name: str, params_schema: dict[str, Any]) -> dict[str, Any]:
    return {
        "apiVersion": "almanac.dev/v1alpha1",
        "kind": "JobTemplate",
        "metadata": {"name": name},
        "spec": {"image": "localhost/almanac:dev", "paramsSchema": params_schema},
    }


async def apply(
    k: Kubectl, manifest: dict[str, Any], *, dry_run: bool = False, user: str | None = None
) -> str:
    """``kubectl apply`` off the event loop (the webhook shares the loop); ``user``
    impersonates that user (with the admin's group, so RBAC allows the write)."""
    args = ["apply", "-f", "-"] + (["--dry-run=server"] if dry_run else [])
    if user is not None:
        args += [f"--as={user}", "--as-group=system:masters"]
    return await asyncio.to_thread(k.run, *args, stdin=json.dumps(manifest))


async def refusal(k: Kubectl, manifest: dict[str, Any], *, user: str | None = None) -> str:
    """The error kubectl prints when ``manifest`` is refused; fails if it is accepted."""
    try:
        out = await apply(k, manifest, user=user)
    except KubectlError as exc:
        return exc.stderr
    raise AssertionError(f"accepted: {out.strip()}")


async def api_client(kubeconfig: str) -> client.ApiClient:
    # Explicit path: kubernetes_asyncio reads KUBECONFIG at import, before the stack fixture.
    configuration = client.Configuration()
    await config.load_kube_config(config_file=kubeconfig, client_configuration=configuration)
    return client.ApiClient(configuration)


@pytest.fixture
async def guarded(crds: Kubectl, namespace: str, tmp_path: Path) -> AsyncIterator[Kubectl]:
    """The test's namespace, guarded by a webhook served from this process."""
    api = await api_client(crds.kubeconfig)
    kube = Kube(api, "almanac-test")
    # This process writes RunRequests as the operator does (with the admin's credentials).
    writers = (await kube.whoami(), TRUSTED_WRITER)
    runner = await start_webhook_server(
        0,
        tmp_path / "certs",
        ["127.0.0.1"],
        bind="127.0.0.1",
        chains=kube.scheduled_job_specs,
        access=kube.may,
        writers=frozenset(writers),
        namespaces=kube.namespace_policy,
        templates=kube.template_rules,
    )
    name = f"almanac-test-{uuid.uuid4().hex[:8]}"
    try:
        port = runner.addresses[0][1]
        config = webhook_configuration(
            ca_bundle(tmp_path / "certs"),
            name=name,
            url=f"https://127.0.0.1:{port}",
            namespace_selector={"matchLabels": {"kubernetes.io/metadata.name": namespace}},
            resources=["scheduledjobs", "jobtemplates", "runrequests"],
            trusted_users=[TRUSTED_WRITER],
            run_request_writers=writers,
        )
        await apply_webhook_configuration(api, config)
        scoped = crds.in_namespace(namespace)
        probe = scheduled_job("probe", cron="61 * * * *")
        await eventually(
            lambda: _refused_on_dry_run(scoped, probe),
            timeout=CONFIG_PROPAGATION,
            interval=0.2,
            what="the API server calling the webhook",
        )
        yield scoped
    finally:
        try:
            await delete_webhook_configuration(api, name)
        finally:
            await api.close()
            await runner.cleanup()


async def _refused_on_dry_run(k: Kubectl, manifest: dict[str, Any]) -> bool:
    try:
        await apply(k, manifest, dry_run=True)
    except KubectlError as exc:
        if PROBE_REFUSED not in exc.stderr:
            raise AssertionError(exc.stderr) from None
        return True
    return False
