"""Fixtures shared by the integration suites: the CRDs and operator replicas."""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.integration.admission import guarded
from tests.support import Kubectl
from tests.support.kube import KubectlError
from tests.support.operator import OperatorProcess

__all__ = ["guarded"]  # a namespace guarded by the webhook (tests/integration/admission.py)

CRDS = Path(__file__).resolve().parents[2] / "crds"


@pytest.fixture(scope="session")
def crds(kubectl: Kubectl) -> Kubectl:
    """The generated CRDs, applied to the stack's API server and Established."""
    kubectl.run("apply", "--server-side", "--force-conflicts", "-f", str(CRDS))
    # A CRD created a moment ago may have no conditions yet, and kubectl wait then fails at
    # once ("conditions accessor error") instead of waiting: ask again until it waits.
    deadline = time.monotonic() + 60
    while True:
        try:
            kubectl.run(
                "wait",
                "--for=condition=Established",
                "--timeout=60s",
                "crd/scheduledjobs.almanac.dev",
                "crd/jobtemplates.almanac.dev",
                "crd/clusterjobtemplates.almanac.dev",
            )
            return kubectl
        except KubectlError as exc:
            if "accessor error" not in str(exc) or time.monotonic() > deadline:
                raise


@pytest.fixture
def replicas(
    crds: Kubectl, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[list[OperatorProcess]]:
    """Operator replicas of one test (started by it), sharing a Lease of their own."""
    lease = f"almanac-test-{uuid.uuid4().hex[:6]}"
    logs = tmp_path_factory.mktemp("operator")
    made = [
        OperatorProcess(f"replica-{i}", lease, "default", logs / f"replica-{i}.log")
        for i in range(2)
    ]
    try:
        yield made
    finally:
        for replica in made:
            replica.stop()
