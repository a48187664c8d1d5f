"""End to end: ScheduledJobs on the built-in ClusterJobTemplates, run by the operator.

The path under test is the user's: ``kubectl apply`` a ScheduledJob naming a template from
``config/templates`` → the operator (a real process) launches the Job → the kubelet runs a
pod of the project image → the executor does the work against a real peer → the result
appears in ``status.lastRun``. Peers listen on the pod bridge's gateway (the host as pods
see it): an HTTP server, the Export Service fake and an SMTP server started here, and the
stack's Kafka and PostgreSQL.

Egress policy: the operator grants every template the gateway only
(``ALMANAC_HTTP_ALLOW_CIDRS``, the cluster-wide setting); a template's own ``args`` may
grant more. A pod on the bridge serves as the peer only a template-granted run may reach.

All ScheduledJobs are created at once by the module fixture with a one-time ``at``
schedule, so their pods start together and each test only waits for its own result.
The stage's constants, its manifests and the wait for a run are in ``operator_stage``.
"""

from __future__ import annotations

import json
import os
import uuid
from collections.abc import Iterator
from contextlib import ExitStack
from datetime import UTC, datetime, timedelta
from pathlib import Path

import psycopg
import pytest
from aiokafka import AIOKafkaConsumer

from tests.integration.executor.operator_stage import (
    GATEWAY,
    HOOK_TOKEN,
    SMTP_PASSWORD,
    SOURCES,
    TEMPLATES,
    Stage,
    finished_run,
    once,
    ref,
    restricted_pod,
    run_container,
    secret,
)
from tests.integration.executor.peers import (
    ExportServiceFake,
    Inbox,
    RecordingServer,
    free_port,
    serve,
    smtp_server,
)
from tests.integration.operator_support import condition
from tests.support import Kubectl, eventually
from tests.support.operator import OperatorProcess


@pytest.fixture(scope="module")
def namespace_module(crds: Kubectl) -> Iterator[str]:
    """One restricted namespace for the module's ScheduledJobs (they run concurrently)."""
    name = f"t-{uuid.uuid4().hex[:10]}"
    # Organisation 000101's namespace: its exports may name only that organisation.
    labels = {"pod-security.kubernetes.io/enforce": "restricted", "almanac.dev/org-id": "000101"}
    crds.apply(
        {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name, "labels": labels}}
    )
    try:
        yield name
    finally:
        crds.run("delete", "namespace", name, "--wait=false")


@pytest.fixture(scope="module")
def operator(crds: Kubectl, tmp_path_factory: pytest.TempPathFactory) -> Iterator[OperatorProcess]:
    """The operator, granting run pods the gateway only (its cluster-wide egress policy)."""
    replica = OperatorProcess(
        "executor-e2e",
        f"almanac-test-{uuid.uuid4().hex[:6]}",
        "default",
        Path(tmp_path_factory.mktemp("operator")) / "operator.log",
    )
    with pytest.MonkeyPatch.context() as env:
        env.setenv("ALMANAC_HTTP_ALLOW_CIDRS", f"{GATEWAY}/32")
        replica.start()
    try:
        yield replica
    finally:
        replica.stop()


@pytest.fixture(scope="module")
def table(stack: dict[str, str]) -> Iterator[str]:
    """A fresh table ``items(v int)`` holding 1..5 in its own schema; dropped afterwards."""
    schema = f"e2e_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(stack["ALMANAC_DATABASE_URL"], autocommit=True) as conn:
        conn.execute(f"CREATE SCHEMA {schema}")
        conn.execute(f"CREATE TABLE {schema}.items (v int)")
        conn.execute(f"INSERT INTO {schema}.items SELECT generate_series(1, 5)")
    try:
        yield f"{schema}.items"
    finally:
        with psycopg.connect(stack["ALMANAC_DATABASE_URL"], autocommit=True) as conn:
            conn.execute(f"DROP SCHEMA {schema} CASCADE")


@pytest.fixture(scope="module")
def stage(
    crds: Kubectl,
    stack: dict[str, str],
    namespace_module: str,
    operator: OperatorProcess,
    table: str,
) -> Iterator[Stage]:
    k = crds.in_namespace(namespace_module)
    crds.run("apply", "-f", str(TEMPLATES))
    image = os.environ["ALMANAC_IMAGE"]
    restricted = f"elsewhere-{uuid.uuid4().hex[:6]}"
    with ExitStack() as peers:
        hook = peers.enter_context(serve(RecordingServer(), GATEWAY))
        hook.routes["/hook"] = (200, "pong")
        exports = peers.enter_context(serve(ExportServiceFake(), GATEWAY))
        assert isinstance(exports, ExportServiceFake)
        inbox = Inbox("reports", SMTP_PASSWORD)
        smtp_port = peers.enter_context(smtp_server(inbox, GATEWAY))
        peers.callback(crds.run, "delete", "clusterjobtemplate", restricted, "--ignore-not-found")
        k.apply(
            restricted_pod(
                "peer", image, ["python3", "-m", "http.server", "8080", "--directory", "/tmp"]
            ),
            secret("hook-token", "authorization", HOOK_TOKEN),
            secret("smtp", "password", SMTP_PASSWORD),
            secret("reporting-db", "dsn", stack["ALMANAC_DATABASE_URL"]),
            {
                "apiVersion": "almanac.dev/v1alpha1",
                "kind": "JobTemplate",
                "metadata": {"name": "intranet-http"},
                "spec": {
                    "description": "http, allowed to reach the pod network",
                    "image": image,
                    "command": ["python3", "-m", "almanac.executor"],
                    "args": ["--payload", "http", "--allow-cidrs", "10.244.0.0/24"],
                },
            },
        )
        crds.apply(
            {
                "apiVersion": "almanac.dev/v1alpha1",
                "kind": "ClusterJobTemplate",
                "metadata": {"name": restricted},
                "spec": {"image": image, "allowedNamespaces": ["org-elsewhere"]},
            }
        )
        k.run("wait", "--for=condition=Ready", "pod/peer", "--timeout=90s", timeout=100)
        peer_url = f"http://{k.get('pod', 'peer')['status']['podIP']}:8080/"
        topic = f"t-e2e-{uuid.uuid4().hex[:8]}"
        at = datetime.now(UTC) + timedelta(seconds=2)
        k.apply(
            once(
                "hook",
                "http",
                {
                    "method": "POST",
                    "url": f"{hook.base_url}/hook",
                    "headers": {"Authorization": ref("hook-token", "authorization")},
                    "body": {"event": "nightly"},
                },
                at,
            ),
            once(
                "no-secret",
                "http",
                {"url": f"{hook.base_url}/hook", "headers": {"X-Token": ref("absent", "token")}},
                at,
            ),
            once("metadata", "http", {"url": "http://169.254.169.254/latest/meta-data/"}, at),
            once("unreachable", "http", {"url": f"http://{GATEWAY}:{free_port(GATEWAY)}/"}, at),
            once("peer-by-policy", "intranet-http", {"url": peer_url}, at),
            once("peer-by-builtin", "http", {"url": peer_url}, at),
            once(
                "publish",
                "message",
                {"topic": topic, "key": "org-000101", "value": {"report": "nightly"}},
                at,
            ),
            once(
                "inventory",
                "export",
                {
                    "baseUrl": f"{exports.base_url}{ExportServiceFake.ROOT}",
                    "name": "Inventory Export",
                    "format": "csv",
                    "sources": SOURCES,
                    "orgId": "000101",
                    "pollInterval": "200ms",
                },
                at,
            ),
            once(
                "inventory-fails",
                "export",
                {
                    "baseUrl": f"{exports.base_url}{ExportServiceFake.ROOT}",
                    "name": "fail",
                    "format": "json",
                    "sources": SOURCES,
                    "orgId": "000101",
                    "pollInterval": "200ms",
                },
                at,
            ),
            once(
                "report-mail",
                "email",
                {
                    "host": GATEWAY,
                    "port": smtp_port,
                    "security": "none",
                    "username": "reports",
                    "password": ref("smtp", "password"),
                    "from": "almanac@example.com",
                    "to": ["ops@example.com"],
                    "subject": "Nightly report",
                    "body": "All jobs ran.",
                },
                at,
            ),
            once(
                "cleanup",
                "sql",
                {
                    "dsn": ref("reporting-db", "dsn"),
                    "statement": f"DELETE FROM {table} WHERE v > %(limit)s",
                    "parameters": {"limit": 2},
                },
                at,
            ),
            once("not-here", restricted, {}, at),
        )
        yield Stage(k, hook, exports, inbox, smtp_port, topic, table, peer_url, restricted)


async def test_http_run_posts_to_the_endpoint_and_reports_the_status(stage: Stage) -> None:
    last = await finished_run(stage.k, "hook")
    assert last["phase"] == "Succeeded", last
    assert last["message"] == f"POST {stage.hook.base_url}/hook returned 200"
    (request,) = stage.hook.requests
    assert request.headers["authorization"] == HOOK_TOKEN
    assert json.loads(request.body) == {"event": "nightly"}
    container = run_container(stage.k, last)
    assert container["image"] == "localhost/almanac:dev"
    assert container["command"] == ["python3", "-m", "almanac.executor"]


async def test_a_missing_secret_fails_the_run_naming_it_instead_of_hanging(
    stage: Stage,
) -> None:
    last = await finished_run(stage.k, "no-secret")
    assert last["phase"] == "Failed"
    assert last["message"].startswith(
        "params.headers.X-Token: Secret 'absent' key 'token' is not mounted"
    )
    assert "kubectl create secret generic absent --from-literal=token=..." in last["message"]


async def test_http_run_to_the_metadata_address_is_refused(stage: Stage) -> None:
    last = await finished_run(stage.k, "metadata")
    assert last["phase"] == "Failed"
    assert last["message"].startswith(
        "params.url: refused: '169.254.169.254' resolves to 169.254.169.254, a link-local "
        "(cloud metadata service) address"
    )
    assert f"(now: {GATEWAY}/32)" in last["message"]


async def test_http_run_to_a_closed_port_fails_clearly(stage: Stage) -> None:
    last = await finished_run(stage.k, "unreachable")
    assert last["phase"] == "Failed"
    assert "cannot connect to 10.244.0.1:" in last["message"]


async def test_a_template_policy_grants_a_network_the_builtin_template_may_not_reach(
    stage: Stage,
) -> None:
    granted = await finished_run(stage.k, "peer-by-policy")
    assert granted["phase"] == "Succeeded", granted
    assert granted["message"] == f"GET {stage.peer_pod_url} returned 200"
    refused = await finished_run(stage.k, "peer-by-builtin")
    assert refused["phase"] == "Failed"
    assert "a private address" in refused["message"]
    assert "--allow-cidrs in the template's args" in refused["message"]


async def test_message_run_publishes_to_the_stack_kafka(
    stage: Stage, stack: dict[str, str]
) -> None:
    last = await finished_run(stage.k, "publish")
    assert last["phase"] == "Succeeded", last
    assert last["message"] == f"published to {stage.topic} partition 0 offset 0"
    consumer = AIOKafkaConsumer(
        stage.topic,
        bootstrap_servers=stack["ALMANAC_KAFKA_BOOTSTRAP"],
        auto_offset_reset="earliest",
        group_id=f"g-{stage.topic}",
    )
    await consumer.start()
    try:
        batch = await eventually(
            lambda: consumer.getmany(timeout_ms=1000), timeout=30, what="the published record"
        )
    finally:
        await consumer.stop()
    ((record,),) = batch.values()
    assert (record.key, json.loads(record.value)) == (b"org-000101", {"report": "nightly"})


async def test_export_run_reports_the_download_url(stage: Stage) -> None:
    last = await finished_run(stage.k, "inventory")
    assert last["phase"] == "Succeeded", last
    (export_id,) = [e for e, x in stage.exports.exports.items() if x["name"] != "fail"]
    url = f"{stage.exports.base_url}{ExportServiceFake.ROOT}/exports/{export_id}"
    assert last["message"] == f"export {export_id} complete: {url}"


async def test_failed_export_run_carries_the_service_error(stage: Stage) -> None:
    last = await finished_run(stage.k, "inventory-fails")
    assert last["phase"] == "Failed"
    assert last["message"].endswith("failed: inventory/hosts: inventory timed out")


async def test_email_run_logs_in_with_the_secret_and_delivers(stage: Stage) -> None:
    last = await finished_run(stage.k, "report-mail")
    assert last["phase"] == "Succeeded", last
    assert last["message"] == (
        f"sent 'Nightly report' to 1 recipients via {GATEWAY}:{stage.smtp_port}"
    )
    ((envelope, message),) = stage.inbox.messages
    assert envelope.rcpt_tos == ["ops@example.com"]
    assert message["X-Almanac-Run"] == last["job"]


async def test_sql_run_deletes_rows_with_the_dsn_from_a_secret(
    stage: Stage, stack: dict[str, str]
) -> None:
    last = await finished_run(stage.k, "cleanup")
    assert last["phase"] == "Succeeded", last
    assert last["message"] == "statement affected 3 rows"
    with psycopg.connect(stack["ALMANAC_DATABASE_URL"]) as conn:
        row = conn.execute(f"SELECT count(*) FROM {stage.table}").fetchone()
    assert row == (2,)


async def test_template_not_allowed_in_the_namespace_is_reported_not_run(stage: Stage) -> None:
    invalid = await eventually(
        lambda: (
            (c := condition(stage.k, "not-here", "InvalidSpec")) and c["status"] == "True" and c
        ),
        timeout=60,
        what="InvalidSpec for a template not allowed here",
    )
    assert (
        f"template {stage.restricted_template!r} may not be used in namespace" in invalid["message"]
    )
    assert stage.k.list("jobs", "almanac.dev/scheduledjob=not-here") == []
