"""The README's "Install on your cluster" section, run line by line on the local stack.

The block is read from README.md, not copied here, so an edit to the README is what this
test runs. Only the values a reader replaces with their own are replaced: the registry
(the stack's open registry, ``ALMANAC_REGISTRY``), the database URL and the Kafka
bootstrap. ``docker`` is the stack's engine, whose ``python:3.11-slim-bookworm`` is the
stack's own base with pip pointed at the checkout's wheelhouse (no Docker Hub or PyPI
here; ``hack/localstack/images.py``). The closing ``kubectl get sj hello -w`` is read
until the watch shows a run that succeeded, as a reader would watch it.

The stack is a shared cluster: the CRDs the integration suite applied are deleted first
(a fresh cluster has none, and Helm does not adopt objects it did not make), and the
release, its namespace and the example job are removed at the end.
"""

from __future__ import annotations

import os
import re
import subprocess
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from hack.localstack.settings import Dirs
from tests.e2e.conftest import remove_release
from tests.support import Kubectl
from tests.unit.gitops.chart import REPO

RELEASE, NAMESPACE = "almanac", "almanac-system"
#: What a reader puts in place of the README's placeholders: text -> stack variable.
PLACEHOLDERS = {
    "registry.example.com/team": "{ALMANAC_REGISTRY}/readme",
    "postgresql://...": "{ALMANAC_DATABASE_URL}",
    "kafka-0.kafka:9092": "{ALMANAC_KAFKA_BOOTSTRAP}",
}
WATCH = "kubectl get sj hello -n default -w"


def install_section() -> list[str]:
    """The commands of the README's first ``sh`` block under "Install on your cluster",
    continuation lines joined, comments dropped."""
    text = (REPO / "README.md").read_text()
    section = text.split("## Install on your cluster", 1)[1]
    block = re.search(r"```sh\n(.*?)```", section, re.DOTALL)
    assert block is not None, "README: no sh block under 'Install on your cluster'"
    joined = block.group(1).replace("\\\n", " ")
    commands = [line.split("  #")[0].strip() for line in joined.splitlines()]
    return [c for c in commands if c and not c.startswith("#")]


def as_a_reader_would(command: str, stack: dict[str, str]) -> str:
    for placeholder, value in PLACEHOLDERS.items():
        command = command.replace(placeholder, value.format(**stack))
    return command


def test_the_section_reads_as_the_test_expects() -> None:
    """The block still builds, pushes, installs, tests and ends with the watch, and every
    placeholder this test fills in is still in it (else the test ran something else)."""
    commands = install_section()
    text = "\n".join(commands)
    for placeholder in PLACEHOLDERS:
        assert placeholder in text, f"README install section lost {placeholder!r}"
    assert commands[-1] == WATCH
    for step in ("docker build", "docker push", "helm install", "helm test", "kubectl apply"):
        assert step in text, f"README install section has no {step!r}"


@pytest.fixture
def shell_env(stack: dict[str, str], tmp_path: Path) -> dict[str, str]:
    """A reader's shell after ``eval "$(hack/stack env)"``: kubectl, helm and docker on
    PATH, and a Docker configuration of its own (the open registry needs no login)."""
    helm_dir = Dirs.from_env().helm.parent
    path = f"{REPO / '.venv' / 'bin'}:{helm_dir}:{os.environ['PATH']}"
    return dict(os.environ, **stack, PATH=path, DOCKER_CONFIG=str(tmp_path / "docker"))


@pytest.fixture
def fresh_cluster(kubectl: Kubectl, stack: dict[str, str]) -> Iterator[None]:
    """No Almanac CRDs before (as on a new cluster); nothing of the README's after."""
    for crd in kubectl.run("get", "crd", "-o", "name").split():
        if crd.endswith(".almanac.dev"):
            kubectl.run("delete", crd, "--ignore-not-found")
    kubectl.run("delete", "namespace", NAMESPACE, "--ignore-not-found")
    try:
        yield
    finally:
        kubectl.in_namespace("default").run("delete", "sj", "hello", "--ignore-not-found")
        remove_release(kubectl, stack["KUBECONFIG"], RELEASE, NAMESPACE)


def watch_until_succeeded(command: str, env: dict[str, str], timeout: float) -> str:
    """Run the watch and return its output once a row's LAST RESULT says Succeeded."""
    watch = subprocess.Popen(
        ["bash", "-c", command],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env=env,
    )
    lines: list[str] = []
    succeeded = threading.Event()

    def read() -> None:
        assert watch.stdout is not None
        for line in watch.stdout:
            lines.append(line)
            if re.search(r"\bSucceeded\b", line):
                succeeded.set()

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    try:
        succeeded.wait(timeout)
    finally:
        watch.kill()
        watch.wait()
    output = "".join(lines)
    assert succeeded.is_set(), f"no succeeded run within {timeout:.0f} s:\n{output}"
    return output


def test_the_readme_install_section_works_line_by_line(
    stack: dict[str, str], kubectl: Kubectl, shell_env: dict[str, str], fresh_cluster: None
) -> None:
    *setup, watch = install_section()
    # One shell, as a reader pastes the lines into one terminal (REGISTRY carries over);
    # -x prints each line before it runs, so a failure names its line.
    script = "\n".join(as_a_reader_would(command, stack) for command in setup)
    done = subprocess.run(
        ["bash", "-euxo", "pipefail", "-c", script],
        capture_output=True,
        text=True,
        env=shell_env,
        timeout=1200,
        check=False,
    )
    assert done.returncode == 0, f"a README line failed:\n{done.stderr[-6000:]}"
    registry = stack["ALMANAC_REGISTRY"]
    operator = kubectl.in_namespace(NAMESPACE).list("pods", "app.kubernetes.io/component=operator")
    images = {c["image"] for p in operator for c in p["spec"]["containers"]}
    assert images == {f"{registry}/readme/almanac:0.1.0"}, "pulled from the registry"
    output = watch_until_succeeded(watch, shell_env, timeout=180)
    assert "hello" in output

    # The run (kept: successfulJobs 3) ran the image the README pushed.
    pods = kubectl.in_namespace("default").list("pods", "almanac.dev/scheduledjob=hello")
    run_images = {c["image"] for p in pods for c in p["spec"]["containers"]}
    assert run_images == {f"{registry}/readme/almanac:0.1.0"}, pods
