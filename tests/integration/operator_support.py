"""Manifests and waits shared by the operator tests."""

from __future__ import annotations

import contextlib
import json
import os
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.support import Kubectl, eventually
from tests.support.operator import OperatorProcess

SCRIPT = (
    "import json, os, sys, time; p = json.loads(os.environ['ALMANAC_PARAMS']); "
    "time.sleep(p.get('seconds', 0)); "
    "open('/dev/termination-log', 'w').write(json.dumps({'status': 'done', "
    "'summary': p.get('say', 'ok')})); sys.exit(p.get('exit', 0))"
)


def script_template() -> dict[str, Any]:
    """A namespaced JobTemplate running a tiny Python script in the project image:
    it sleeps ``seconds``, reports ``say`` and exits with ``exit`` (from params)."""
    return {
        "apiVersion": "almanac.dev/v1alpha1",
        "kind": "JobTemplate",
        "metadata": {"name": "script"},
        "spec": {"image": os.environ["ALMANAC_IMAGE"], "command": ["python3", "-c", SCRIPT]},
    }


def with_script_template(crds: Kubectl, namespace: str) -> Kubectl:
    """The test's namespace with the script template in it (operator suites' ``k``)."""
    scoped = crds.in_namespace(namespace)
    scoped.apply(script_template())
    return scoped


def scheduled_job(name: str, **spec: Any) -> dict[str, Any]:
    return {
        "apiVersion": "almanac.dev/v1alpha1",
        "kind": "ScheduledJob",
        "metadata": {"name": name},
        "spec": {"template": "script", "params": {}, **spec},
    }


def almanac_jobs(k: Kubectl, name: str) -> list[dict[str, Any]]:
    return k.list("jobs", f"almanac.dev/scheduledjob={name}")


def slots(jobs: list[dict[str, Any]]) -> list[int]:
    return sorted(int(j["metadata"]["labels"]["almanac.dev/slot"]) for j in jobs)


def status(k: Kubectl, name: str) -> dict[str, Any]:
    result: dict[str, Any] = k.get("scheduledjob", name).get("status") or {}
    return result


def condition(k: Kubectl, name: str, kind: str) -> dict[str, Any] | None:
    for cond in status(k, name).get("conditions") or []:
        if cond["type"] == kind:
            return dict(cond)
    return None


async def jobs_at_least(
    k: Kubectl, name: str, count: int, timeout: float = 60
) -> list[dict[str, Any]]:
    def enough() -> list[dict[str, Any]] | None:
        jobs = almanac_jobs(k, name)
        return jobs if len(jobs) >= count else None

    return await eventually(enough, timeout=timeout, what=f"{count} Jobs of {name}")


def annotate(k: Kubectl, name: str, key: str, value: str) -> None:
    k.run("annotate", "--overwrite", "scheduledjob", name, f"{key}={value}")


def patch_spec(k: Kubectl, name: str, spec: dict[str, Any]) -> None:
    k.run("patch", "scheduledjob", name, "--type=merge", "-p", json.dumps({"spec": spec}))


@contextlib.contextmanager
def module_operator(
    identity: str, factory: pytest.TempPathFactory, env: dict[str, str] | None = None
) -> Iterator[OperatorProcess]:
    """One operator replica with a Lease of its own for a test module, stopped after it."""
    replica = OperatorProcess(
        identity,
        f"almanac-test-{uuid.uuid4().hex[:6]}",
        "default",
        Path(factory.mktemp("operator")) / "operator.log",
        env=env or {},
    )
    replica.start()
    try:
        yield replica
    finally:
        replica.stop()
