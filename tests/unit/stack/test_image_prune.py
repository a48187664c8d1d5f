"""Pruning older project images keeps every image still in use: by a running process
(``make dev``'s operators keep the image they were started with), by a pod that may still
start a container, or by an object that will create such pods."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from hack.localstack.inuse import (
    environ_image,
    pod_images,
    process_images,
    prunable,
    recorded_images,
    workload_images,
)
from hack.localstack.processes import State

REPO = "localhost/almanac"
DEV, OLD, NEW, OLDER = (f"{REPO}:{tag}" for tag in ("dev", "aaaa", "bbbb", "cccc"))
DOCKER = {  # name -> image id, as `docker image ls` gives them
    DEV: "sha256:new",
    NEW: "sha256:new",
    OLD: "sha256:old",
    OLDER: "sha256:older",
    "localhost/almanac-base:bookworm-py311-1": "sha256:base",
    "localhost/pause:busybox-1": "sha256:pause",
}


def test_only_unreferenced_names_of_the_project_repository_go() -> None:
    assert prunable(DOCKER, REPO, {DEV, NEW}) == [OLD, OLDER]
    assert prunable(DOCKER, REPO, {DEV, NEW, OLD}) == [OLDER]


def test_a_name_whose_content_is_referenced_stays() -> None:
    alias = f"{REPO}:075c3c1b6518"  # an older tag of the very image just built
    images = {**DOCKER, alias: "sha256:new"}
    assert alias not in prunable(images, REPO, {DEV, NEW})
    # A running container's imageID (the image id) keeps every name of that image.
    assert prunable(DOCKER, REPO, {DEV, NEW, "sha256:old"}) == [OLDER]


def test_node_references_by_id_keep_the_names_with_the_same_digest() -> None:
    node = {  # ref -> manifest digest, as `ctr images ls` gives them
        DEV: "sha256:m-new",
        NEW: "sha256:m-new",
        OLD: "sha256:m-old",
        "sha256:old-config-id": "sha256:m-old",
        OLDER: "sha256:m-older",
    }
    assert prunable(node, REPO, {DEV, NEW, "sha256:old-config-id"}) == [OLDER]


def test_the_issue_scenario_keeps_the_image_the_operators_run() -> None:
    """make dev started the operators with OLD; a rebuild made NEW; OLD must survive."""
    state = State(
        processes={
            "operator-0": {"pid": 1, "exe": "python3", "image": OLD},
            "operator-1": {"pid": 2, "exe": "python3", "image": OLD},
            "gone": {"pid": 3, "exe": "python3", "image": OLDER},
        },
        secrets={"image": NEW},
    )
    alive = {1, 2}
    in_use = recorded_images(state.processes, alive=lambda r: int(r["pid"]) in alive)
    assert in_use == {OLD}
    assert prunable(DOCKER, REPO, {DEV, NEW} | in_use) == [OLDER]


def _proc(root: Path, pid: int, parent: int, env: Mapping[str, str]) -> None:
    folder = root / str(pid)
    folder.mkdir()
    (folder / "stat").write_text(f"{pid} (some (odd) name) S {parent} 0 0\n")
    (folder / "environ").write_bytes(b"\0".join(f"{k}={v}".encode() for k, v in env.items()))


def test_processes_naming_an_image_keep_it_except_the_prune_and_its_ancestors(
    tmp_path: Path,
) -> None:
    _proc(tmp_path, 10, 1, {"PATH": "/bin"})  # the shell
    _proc(tmp_path, 20, 10, {"ALMANAC_IMAGE": OLDER})  # make, from `eval "$(hack/stack env)"`
    _proc(tmp_path, 30, 20, {"ALMANAC_IMAGE": OLDER})  # hack/stack up itself
    _proc(tmp_path, 40, 1, {"ALMANAC_IMAGE": OLD, "HOME": "/root"})  # a test session
    _proc(tmp_path, 50, 1, {"ALMANAC_IMAGE": ""})
    (tmp_path / "self").mkdir()  # not a pid
    (tmp_path / "60").mkdir()  # exited: no environ left to read
    assert process_images(State(), proc=tmp_path, me=30) == {OLD}


def test_environ_image_reads_the_variable_exactly() -> None:
    assert environ_image(b"A=1\0ALMANAC_IMAGE=localhost/almanac:x\0B=2") == f"{REPO}:x"
    assert environ_image(b"MY_ALMANAC_IMAGE=y\0") is None
    assert environ_image(b"") is None


def _pod(phase: str, image: str, status: dict[str, Any] | None = None) -> dict[str, Any]:
    return {
        "spec": {"containers": [{"image": image}], "initContainers": [{"image": DEV}]},
        "status": {"phase": phase, **(status or {})},
    }


def test_live_pods_keep_their_images_and_what_the_runtime_resolved() -> None:
    running = _pod(
        "Running",
        DEV,
        {"containerStatuses": [{"image": OLD, "imageID": "sha256:old"}]},
    )
    assert pod_images(running) == {DEV, OLD, "sha256:old"}
    assert pod_images(_pod("Pending", OLDER)) == {DEV, OLDER}
    assert pod_images(_pod("Succeeded", OLDER)) == set()
    assert pod_images(_pod("Failed", OLDER)) == set()


def test_objects_that_will_create_pods_keep_their_images() -> None:
    template = {"spec": {"template": {"spec": {"containers": [{"image": OLD}]}}}}
    finished = {**template, "status": {"conditions": [{"type": "Complete", "status": "True"}]}}
    assert workload_images("jobs", template) == {OLD}
    assert workload_images("jobs", finished) == set()
    assert workload_images("replicasets", template) == {OLD}
    assert workload_images("replicasets", {"spec": {**template["spec"], "replicas": 0}}) == set()
    assert workload_images("daemonsets", template) == {OLD}
    cron = {"spec": {"jobTemplate": template}}
    assert workload_images("cronjobs", cron) == {OLD}
    assert workload_images("jobtemplates", {"spec": {"image": OLDER}}) == {OLDER}
    assert workload_images("clusterjobtemplates", {"spec": {}}) == set()
