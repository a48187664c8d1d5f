"""Which project images are still in use, so that pruning older builds never removes one.

An image is in use as long as something may still start a container from it. Processes
keep the image they were started with in ``ALMANAC_IMAGE`` for their whole life: ``make
dev``'s operator replicas and facade (recorded in state.json with that image), and
operators or test sessions started from ``eval "$(hack/stack env)"``. In the cluster, live
pods name it, and so do the objects that create pods later (a Job's next retry, a
ReplicaSet, the project's job templates). Pruning any of these is what left runs in
ErrImagePull.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Callable, Mapping, Set
from pathlib import Path
from typing import Any

from .kubeapi import api_list
from .processes import State, is_alive
from .settings import Dirs

__all__ = [
    "IMAGE_VARIABLE",
    "cluster_images",
    "environ_image",
    "pod_images",
    "process_images",
    "prunable",
    "recorded_images",
    "workload_images",
]

IMAGE_VARIABLE = "ALMANAC_IMAGE"
_CONTAINER_LISTS = ("initContainers", "containers", "ephemeralContainers")
_STATUS_LISTS = ("initContainerStatuses", "containerStatuses", "ephemeralContainerStatuses")


def _dig(item: Mapping[str, Any], *keys: str) -> Mapping[str, Any]:
    found: Any = item
    for key in keys:
        found = found.get(key) if isinstance(found, Mapping) else None
    return found if isinstance(found, Mapping) else {}


def _pod_spec_images(spec: Mapping[str, Any]) -> set[str]:
    return {
        container["image"]
        for kind in _CONTAINER_LISTS
        for container in spec.get(kind) or []
        if container.get("image")
    }


def pod_images(pod: Mapping[str, Any]) -> set[str]:
    """What a pod that may still start a container names: its containers' images, plus
    the name and content id the runtime resolved them to. A finished pod starts nothing."""
    status = pod.get("status") or {}
    if status.get("phase") in {"Succeeded", "Failed"}:
        return set()
    found = _pod_spec_images(pod.get("spec") or {})
    for kind in _STATUS_LISTS:
        for container in status.get(kind) or []:
            found.update(v for v in (container.get("image"), container.get("imageID")) if v)
    return found


def _finished(job: Mapping[str, Any]) -> bool:
    return any(
        condition.get("type") in {"Complete", "Failed"} and condition.get("status") == "True"
        for condition in _dig(job, "status").get("conditions") or []
    )


def workload_images(kind: str, item: Mapping[str, Any]) -> set[str]:
    """Images of the pods an object will create (none once it will create no more)."""
    if kind == "jobs" and _finished(item):
        return set()
    if kind == "replicasets" and _dig(item, "spec").get("replicas", 1) == 0:
        return set()  # a Deployment's previous revision
    if kind == "cronjobs":
        return _pod_spec_images(_dig(item, "spec", "jobTemplate", "spec", "template", "spec"))
    if kind.endswith("jobtemplates"):
        image = _dig(item, "spec").get("image")
        return {image} if isinstance(image, str) and image else set()
    return _pod_spec_images(_dig(item, "spec", "template", "spec"))


#: Every list that names images, by API path; the last segment is the kind.
CLUSTER_LISTS = (
    "/apis/batch/v1/jobs",
    "/apis/batch/v1/cronjobs",
    "/apis/apps/v1/replicasets",
    "/apis/apps/v1/statefulsets",
    "/apis/apps/v1/daemonsets",
    "/apis/almanac.dev/v1alpha1/jobtemplates",
    "/apis/almanac.dev/v1alpha1/clusterjobtemplates",
)


def cluster_images(dirs: Dirs, state: State) -> set[str]:
    """Every image the cluster may still start a container from (API server lists; a
    failure raises, and the caller then prunes nothing)."""
    found: set[str] = set()
    for pod in api_list(dirs, state, "/api/v1/pods"):
        found |= pod_images(pod)
    for path in CLUSTER_LISTS:
        kind = path.rsplit("/", 1)[1]
        for item in api_list(dirs, state, path):
            found |= workload_images(kind, item)
    return found


def recorded_images(
    processes: Mapping[str, Mapping[str, Any]],
    alive: Callable[[Mapping[str, Any]], bool] = is_alive,
) -> set[str]:
    """The images the stack's own live processes were started with (``make dev`` records
    it per process: ``state.secrets["image"]`` only says what the latest ``up`` built)."""
    return {
        str(record["image"])
        for record in processes.values()
        if record.get("image") and alive(record)
    }


def environ_image(environ: bytes) -> str | None:
    """``ALMANAC_IMAGE`` from a ``/proc/<pid>/environ`` block, if set."""
    prefix = IMAGE_VARIABLE.encode() + b"="
    for entry in environ.split(b"\0"):
        if entry.startswith(prefix):
            return entry[len(prefix) :].decode(errors="replace") or None
    return None


def _parent(proc: Path, pid: int) -> int:
    with contextlib.suppress(OSError, ValueError, IndexError):
        return int((proc / str(pid) / "stat").read_text().rsplit(")", 1)[1].split()[1])
    return 0


def process_images(state: State, proc: Path = Path("/proc"), me: int | None = None) -> set[str]:
    """Images named by the recorded processes and by any process's ``ALMANAC_IMAGE``.

    The command doing the prune and its ancestors (``make``, the shell) are left out: they
    inherit ``ALMANAC_IMAGE`` from ``eval "$(hack/stack env)"`` but launch no runs.
    """
    found = recorded_images(state.processes)
    ours: set[int] = set()
    pid = os.getpid() if me is None else me
    while pid > 1 and pid not in ours:
        ours.add(pid)
        pid = _parent(proc, pid)
    for entry in proc.iterdir():
        if not entry.name.isdigit() or int(entry.name) in ours:
            continue
        with contextlib.suppress(OSError):
            image = environ_image((entry / "environ").read_bytes())
            if image:
                found.add(image)
    return found


def prunable(images: Mapping[str, str], repository: str, referenced: Set[str]) -> list[str]:
    """The names of ``repository`` that may be removed, sorted.

    ``images`` maps each name (or content-id reference) to its content id. A name stays
    when it is referenced, or when the content it names is referenced, by another of its
    names or by id (a running container's ``imageID``).
    """
    kept = {images[ref] for ref in referenced if ref in images} | set(referenced)
    return sorted(
        name
        for name, content in images.items()
        if name.startswith(repository + ":") and name not in referenced and content not in kept
    )
