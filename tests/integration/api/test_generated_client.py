"""A client generated from the facade's own OpenAPI document (openapi-python-client) runs
the main flows against the real facade: create (with the seed's example body), read, list,
change, pause and resume, run now and read the run, delete.

What this proves beyond the schemathesis suite: the document is complete enough for a
generator to produce a working client without warnings, the operationIds are the names
callers get (``create_job``, ``list_runs``...), the documented examples are accepted as
they stand, and every answer is one the document announced (the client is told to raise on
any undocumented status).
"""

from __future__ import annotations

import importlib
import re
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, Final

import httpx
import pytest

from almanac.api import BASE_PATH, encode_identity
from tests.integration.api.conftest import FacadeProcess, Org
from tests.integration.operator_support import module_operator, script_template
from tests.support import Kubectl, eventually
from tests.support.operator import OperatorProcess

PACKAGE: Final = "almanac_generated_client"
#: No post hooks: the generator would otherwise run ruff over the generated package.
CONFIG: Final = f"package_name_override: {PACKAGE}\npost_hooks: []\n"


@dataclass(frozen=True)
class Generated:
    """The generated package and the OpenAPI document it was made from."""

    document: dict[str, Any]

    def operation(self, operation_id: str) -> Any:
        """The generated module of ``operation_id`` (``api/<tag>/<snake_case id>.py``, a tag's
        dashes made underscores)."""
        for item in self.document["paths"].values():
            for operation in item.values():
                if operation["operationId"] == operation_id:
                    snake = re.sub(r"(?<!^)(?=[A-Z])", "_", operation_id).lower()
                    tag = operation["tags"][0].replace("-", "_")  # as the generator names it
                    return importlib.import_module(f"{PACKAGE}.api.{tag}.{snake}")
        raise AssertionError(f"no operation {operation_id!r} in the document")

    def model(self, name: str) -> Any:
        return getattr(importlib.import_module(f"{PACKAGE}.models"), name)

    def example(self, path: str, method: str, name: str) -> Any:
        """The request example ``name`` of an operation, as the document shows it."""
        body = self.document["paths"][f"{BASE_PATH}{path}"][method]["requestBody"]
        return body["content"]["application/json"]["examples"][name]["value"]


@pytest.fixture(scope="module")
def generated(
    facade: FacadeProcess, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Generated]:
    """The client generated from the document the running facade serves."""
    where = tmp_path_factory.mktemp("generated")
    reply = httpx.get(f"{facade.url}{BASE_PATH}/openapi.json", timeout=30)
    assert reply.status_code == 200, reply.text
    (where / "openapi.json").write_bytes(reply.content)
    (where / "config.yaml").write_text(CONFIG)
    generator = [sys.executable, "-m", "openapi_python_client", "generate", "--meta", "none"]
    result = subprocess.run(
        [
            *generator,
            *("--path", str(where / "openapi.json"), "--config", str(where / "config.yaml")),
            *("--output-path", str(where / PACKAGE), "--fail-on-warning"),
        ],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    sys.path.insert(0, str(where))
    try:
        yield Generated(reply.json())
    finally:
        sys.path.remove(str(where))
        for name in [n for n in sys.modules if n.split(".")[0] == PACKAGE]:
            del sys.modules[name]


class Api:
    """Calls through the generated client as one caller of one organisation."""

    def __init__(self, generated: Generated, base_url: str, org_id: str) -> None:
        self.generated = generated
        client_module = importlib.import_module(f"{PACKAGE}.client")
        self.client = client_module.AuthenticatedClient(
            base_url=base_url,
            token=encode_identity(org_id, username="jdoe"),
            prefix="",
            auth_header_name="x-rh-identity",
            timeout=httpx.Timeout(30),
            raise_on_unexpected_status=True,
        )

    def __call__(self, operation_id: str, *args: Any, **kwargs: Any) -> Any:
        """The generated ``sync_detailed`` of ``operation_id``: status, headers, parsed."""
        module = self.generated.operation(operation_id)
        return module.sync_detailed(*args, client=self.client, **kwargs)

    def close(self) -> None:
        self.client.get_httpx_client().close()


@pytest.fixture
def api(generated: Generated, facade: FacadeProcess, org: Org) -> Iterator[Api]:
    made = Api(generated, facade.url, org.org_id)
    yield made
    made.close()


def test_the_document_names_the_generated_operations(generated: Generated) -> None:
    """``createJob`` is ``api/jobs/create_job.py``, and so on for every operation."""
    for item in generated.document["paths"].values():
        for operation in item.values():
            module = generated.operation(operation["operationId"])
            assert callable(module.sync_detailed), operation["operationId"]


def test_generated_client_manages_a_job(api: Api, generated: Generated) -> None:
    seed = generated.model("JobInput").from_dict(generated.example("/jobs", "post", "seed"))

    created = api("createJob", body=seed)
    assert created.status_code == 201, created.content
    job = created.parsed
    assert created.headers["location"] == f"{BASE_PATH}/jobs/{job.id}"
    assert (job.name, job.type_, job.status, job.last_run) == (
        "Daily Inventory Export",
        "export",
        "scheduled",
        None,
    )

    fetched = api("getJob", job.id).parsed
    assert (fetched.id, fetched.schedule, fetched.timezone) == (job.id, "0 0 * * *", "UTC")
    listed = api("listJobs", name="Daily Inventory Export").parsed
    assert (listed.meta.count, [j.id for j in listed.data]) == (1, [job.id])

    rename = generated.example("/jobs/{job_id}", "patch", "rename")
    renamed = api("updateJob", job.id, body=generated.model("JobPatch").from_dict(rename))
    assert renamed.parsed.name == rename["name"]

    reason = generated.model("PauseRequest")(reason="export service maintenance")
    assert api("pauseJob", job.id, body=reason).parsed.status == "paused"
    again = api("pauseJob", job.id, body=reason)
    assert again.status_code == 409
    assert [e.code for e in again.parsed.errors] == ["conflict"]
    assert api("resumeJob", job.id).parsed.status == "scheduled"

    assert len(api("getNextRuns", job.id, count=3).parsed.data) == 3
    types = [t.type_ for t in api("listTemplates").parsed.data]
    assert "export" in types

    assert api("deleteJob", job.id).status_code == 204
    gone = api("getJob", job.id)
    assert gone.status_code == 404
    assert [e.field for e in gone.parsed.errors] == ["id"]


@pytest.fixture(scope="module")
def operator(crds: Kubectl, tmp_path_factory: pytest.TempPathFactory) -> Iterator[OperatorProcess]:
    with module_operator("generated-client", tmp_path_factory) as replica:
        yield replica


@pytest.fixture
def scripted(org: Org, operator: OperatorProcess) -> Org:
    """The org's namespace, made beforehand with the test script template in it."""
    labels = {"pod-security.kubernetes.io/enforce": "restricted", "almanac.dev/org-id": org.org_id}
    org.kubectl.apply(
        {
            "apiVersion": "v1",
            "kind": "Namespace",
            "metadata": {"name": org.namespace, "labels": labels},
        }
    )
    org.kubectl.apply(script_template())
    return org


async def test_generated_client_runs_a_job_now_and_reads_the_run(
    api: Api, generated: Generated, scripted: Org
) -> None:
    body = {"name": "Manual", "schedule": "0 0 1 1 *", "type": "script", "payload": {"say": "hi"}}
    job = api("createJob", body=generated.model("JobInput").from_dict(body)).parsed

    run_now = generated.model("RunNowRequest").from_dict({})
    started = api("runJob", job.id, body=run_now, idempotency_key="generated-1")
    assert started.status_code == 202, started.content
    assert (started.parsed.job_id, started.parsed.idempotency_key) == (job.id, "generated-1")
    run_path = f"{BASE_PATH}/executions/{started.parsed.run_id}"
    assert started.headers["location"] == run_path

    def the_manual_run() -> Any:
        listed = api("listRuns", job.id).parsed
        return next((r for r in listed.data if r.trigger == "manual"), None)

    run = await eventually(the_manual_run, timeout=120, what="the run in the job's runs")
    assert run.job_id == job.id
    fetched = api("getRun", job.id, run.id).parsed
    assert (fetched.id, fetched.attempt) == (run.id, 1)
    assert api("getExecution", started.parsed.run_id).parsed.id == run.id

    def finished() -> Any:
        found = api("getRun", job.id, run.id).parsed
        return found if found.status == "completed" else None

    done = await eventually(finished, timeout=120, what="the run to complete")
    assert done.result.to_dict()["summary"] == "hi"
    stats = api("getJobStats", job.id).parsed
    assert (stats.succeeded, stats.last_execution.run_id) == (1, run.id)
    assert api("getMetricsSummary").parsed.runs.succeeded >= 1
    assert api("deleteJob", job.id).status_code == 204
