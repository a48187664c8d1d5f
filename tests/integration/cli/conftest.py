"""The CLI against the real stack: one operator for the package's modules, a namespace per
test with a template whose runs print, and ``cli``: the CLI as a process, as the user runs
it (the stack's kubeconfig, the test's namespace, no history source unless given)."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest

from almanac.cli.sources import API_IDENTITY_VARIABLE, API_URL_VARIABLE
from almanac.history.errors import DATABASE_URL_VARIABLE
from tests.integration.api.conftest import facade, make_org, org  # noqa: F401  (fixtures)
from tests.integration.operator_support import module_operator, with_script_template
from tests.support import Kubectl
from tests.support.operator import OperatorProcess

#: A run that prints its ``say`` param, then exits with ``exit`` (logs have a line to read).
SAY = (
    "import json, os, sys, time; p = json.loads(os.environ['ALMANAC_PARAMS']); "
    "print(p.get('say', 'hello'), flush=True); time.sleep(p.get('seconds', 0)); "
    "sys.exit(p.get('exit', 0))"
)


def say_template() -> dict[str, Any]:
    return {
        "apiVersion": "almanac.dev/v1alpha1",
        "kind": "JobTemplate",
        "metadata": {"name": "say"},
        "spec": {"image": os.environ["ALMANAC_IMAGE"], "command": ["python3", "-c", SAY]},
    }


def say_job(name: str, **spec: Any) -> dict[str, Any]:
    """A ScheduledJob of the ``say`` template that will not fire on its own for a year."""
    return {
        "apiVersion": "almanac.dev/v1alpha1",
        "kind": "ScheduledJob",
        "metadata": {"name": name, "labels": {"suite": "cli"}},
        "spec": {"template": "say", "schedule": {"cron": "0 0 1 1 *"}, "params": {}, **spec},
    }


@dataclass(frozen=True)
class Cli:
    """``almanac`` as a process with ``--kubeconfig`` and ``-n`` set; history sources only
    through ``env`` (the stack's ``ALMANAC_DATABASE_URL`` is removed)."""

    kubeconfig: str
    namespace: str

    def __call__(
        self, *args: str, env: dict[str, str] | None = None, cluster: bool = True
    ) -> subprocess.CompletedProcess[str]:
        hidden = {DATABASE_URL_VARIABLE, API_URL_VARIABLE, API_IDENTITY_VARIABLE}
        base = {k: v for k, v in os.environ.items() if k not in hidden}
        flags = ["--kubeconfig", self.kubeconfig, "-n", self.namespace] if cluster else []
        return subprocess.run(
            [sys.executable, "-m", "almanac", *args, *flags],
            capture_output=True,
            text=True,
            check=False,
            env={**base, **(env or {})},
            timeout=120,
        )

    def ok(self, *args: str, env: dict[str, str] | None = None) -> str:
        result = self(*args, env=env)
        assert result.returncode == 0, result.stderr
        return result.stdout


@pytest.fixture(scope="package")
def operator(crds: Kubectl, tmp_path_factory: pytest.TempPathFactory) -> Iterator[OperatorProcess]:
    with module_operator("cli-suite", tmp_path_factory) as replica:
        yield replica


@pytest.fixture
def k(crds: Kubectl, operator: OperatorProcess, namespace: str) -> Kubectl:
    scoped = with_script_template(crds, namespace)
    scoped.apply(say_template())
    return scoped


@pytest.fixture
def cli(k: Kubectl, namespace: str) -> Cli:
    return Cli(k.kubeconfig, namespace)
