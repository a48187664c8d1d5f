"""Session fixtures: the local stack is started once per run when a test needs it."""

from __future__ import annotations

import json
import os
import subprocess
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support import Kubectl

REPO = Path(__file__).resolve().parents[1]
STACK = REPO / "hack" / "stack"


def _stack_env() -> dict[str, str] | None:
    result = subprocess.run([STACK, "env", "--json"], capture_output=True, text=True, check=False)
    return json.loads(result.stdout) if result.returncode == 0 else None


@pytest.fixture(scope="session")
def stack() -> Iterator[dict[str, str]]:
    """The running local stack's variables; brought up (and later down) if not running.

    A stack that was already up (``make stack``/``make dev``) is reused and left running;
    one started here is stopped at the end of the session, even when tests fail. ``up`` on
    a running stack only rebuilds and reloads the project image, so tests always run the
    checkout's code.
    """
    was_running = _stack_env() is not None
    subprocess.run([STACK, "up"], check=True, stdout=subprocess.DEVNULL)
    env = _stack_env()
    assert env is not None, "hack/stack up succeeded but 'hack/stack env' finds no stack"
    os.environ.update(env)
    try:
        yield env
    finally:
        if not was_running and not os.environ.get("ALMANAC_KEEP_STACK"):
            subprocess.run([STACK, "down"], check=False)


@pytest.fixture(scope="session")
def kubectl(stack: dict[str, str]) -> Kubectl:
    return Kubectl(stack["KUBECONFIG"])


@pytest.fixture
def namespace(kubectl: Kubectl) -> Iterator[str]:
    """A fresh namespace per test, enforcing the restricted Pod Security Standard."""
    name = f"t-{uuid.uuid4().hex[:10]}"
    kubectl.apply(
        {
            "apiVersion": "v1",
            "kind": "Namespace",
            "metadata": {
                "name": name,
                "labels": {"pod-security.kubernetes.io/enforce": "restricted"},
            },
        }
    )
    try:
        yield name
    finally:
        kubectl.run("delete", "namespace", name, "--wait=false")
