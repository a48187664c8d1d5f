"""The admission webhook on the real API server: what the CRD cannot check (cron syntax,
time zones, schedules that never fire, template JSON Schemas) is refused at ``kubectl
apply`` with the engine's field-named message; valid objects are accepted.

The server runs in this process on 127.0.0.1 (the API server is a host process of the
stack); the webhook configuration is unique to the test, scoped by ``namespaceSelector`` to
the test's namespace, and deleted at the end even when the test fails. kubectl runs in a
thread so the event loop keeps serving the API server's calls.
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
from almanac.operator.webhook import start_webhook_server
from almanac.operator.webhookconfig import (
    apply_webhook_configuration,
    delete_webhook_configuration,
    webhook_configuration,
)
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
        "spec": {"template": "http", "schedule": schedule},
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
async def k(crds: Kubectl, namespace: str, tmp_path: Path) -> AsyncIterator[Kubectl]:
    """The test's namespace, guarded by a webhook served from this process."""
    api = await api_client(crds.kubeconfig)
    runner = await start_webhook_server(
        0,
        tmp_path / "certs",
        ["127.0.0.1"],
        bind="127.0.0.1",
        chains=Kube(api, "almanac-test").scheduled_job_specs,
    )
    name = f"almanac-test-{uuid.uuid4().hex[:8]}"
    try:
        port = runner.addresses[0][1]
        config = webhook_configuration(
            ca_bundle(tmp_path / "certs"),
            name=name,
            url=f"https://127.0.0.1:{port}",
            namespace_selector={"matchLabels": {"kubernetes.io/metadata.name": namespace}},
            resources=["scheduledjobs", "jobtemplates"],
            trusted_users=[TRUSTED_WRITER],
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


async def test_out_of_range_cron_is_refused_naming_the_field_and_the_range(k: Kubectl) -> None:
    error = await refusal(k, scheduled_job("bad-minute", cron="61 * * * *"))
    assert 'The ScheduledJob "bad-minute" is invalid: ' in error
    assert PROBE_REFUSED in error


async def test_unknown_time_zone_is_refused_naming_the_field(k: Kubectl) -> None:
    error = await refusal(k, scheduled_job("mars", cron="0 9 * * *", timeZone="Mars/Olympus"))
    assert (
        "spec.schedule.timeZone: unknown time zone 'Mars/Olympus'; "
        "use an IANA name such as Europe/Berlin or UTC"
    ) in error


async def test_never_firing_schedule_and_bad_second_line_are_refused(k: Kubectl) -> None:
    error = await refusal(k, scheduled_job("feb-30", cron="0 0 30 2 *"))
    assert "spec.schedule.cron: '0 0 30 2 *' never fires" in error
    error = await refusal(k, scheduled_job("two-lines", cron=["0 9 * * *", "0 25 * * *"]))
    assert "spec.schedule.cron[1]: '0 25 * * *': hour value 25 is out of range 0-23" in error


async def test_valid_scheduled_job_is_accepted_and_stored(k: Kubectl) -> None:
    await apply(k, scheduled_job("nightly", cron="30 2 * * *", timeZone="Europe/Berlin"))
    stored = await asyncio.to_thread(k.get, "scheduledjob", "nightly")
    assert stored["spec"]["schedule"]["cron"] == "30 2 * * *"


async def test_edit_to_a_bad_schedule_is_refused_and_the_old_one_kept(k: Kubectl) -> None:
    await apply(k, scheduled_job("hourly", cron="0 * * * *"))
    error = await refusal(k, scheduled_job("hourly", cron="0 * * * * * *"))
    assert "spec.schedule.cron" in error
    stored = await asyncio.to_thread(k.get, "scheduledjob", "hourly")
    assert stored["spec"]["schedule"]["cron"] == "0 * * * *"


async def test_the_trusted_writer_skips_the_webhook_and_nobody_else_does(k: Kubectl) -> None:
    """The facade runs the same check itself; the matchCondition reads the authenticated
    user, so the admin and every other user are still reviewed."""
    assert PROBE_REFUSED in await refusal(k, scheduled_job("as-admin", cron="61 * * * *"))
    await apply(k, scheduled_job("as-facade", cron="61 * * * *"), user=TRUSTED_WRITER)
    stored = await asyncio.to_thread(k.get, "scheduledjob", "as-facade")
    assert stored["spec"]["schedule"]["cron"] == "61 * * * *"  # not reviewed: stored as sent
    other = await refusal(k, scheduled_job("as-other", cron="61 * * * *"), user="someone-else")
    assert PROBE_REFUSED in other


async def test_template_params_schema_must_be_a_json_schema(k: Kubectl) -> None:
    error = await refusal(k, job_template("broken", {"type": "object", "required": "url"}))
    assert 'The JobTemplate "broken" is invalid: ' in error
    assert "spec.paramsSchema.required: is not a valid JSON Schema (draft 2020-12)" in error
    await apply(k, job_template("fine", {"type": "object", "required": ["url"]}))


def triggered(name: str, *triggers: dict[str, Any]) -> dict[str, Any]:
    return {
        "apiVersion": "almanac.dev/v1alpha1",
        "kind": "ScheduledJob",
        "metadata": {"name": name},
        "spec": {"template": "http", "triggers": list(triggers)},
    }


async def test_bad_cel_expression_is_refused_naming_the_trigger_and_position(
    k: Kubectl,
) -> None:
    error = await refusal(
        k, triggered("bad-filter", {"kafka": {"topic": "tickets", "filter": "event.type == "}})
    )
    assert "spec.triggers[0].kafka.filter" in error
    assert "1:" in error  # line:column of the mistake


async def test_after_triggers_forming_a_cycle_are_refused(k: Kubectl) -> None:
    await apply(k, triggered("a", {"after": {"scheduledJob": "b"}}))
    await apply(k, triggered("c", {"after": {"scheduledJob": "a"}}))
    error = await refusal(k, triggered("b", {"after": {"scheduledJob": "c"}}))
    assert "spec.triggers[0].after.scheduledJob" in error
    assert "b -> c -> a -> b" in error
    error = await refusal(k, triggered("self", {"after": {"scheduledJob": "self"}}))
    assert "self -> self" in error
