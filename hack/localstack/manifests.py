"""``make dev``'s cluster objects: the CRDs, the built-in job templates, the lease
namespace and the sample ScheduledJob, applied only when something changed.

Applying them takes five ``kubectl`` runs on every ``make dev``. They are skipped when the
manifests are the ones last applied *and* the objects made from them are still the same
objects, unedited: one ``kubectl get`` of all of them yields each object's uid (a deleted
and recreated object has another) and generation (a spec edit raises it), and those, with
the manifests' content, make a fingerprint recorded in state.json after each apply.
"""

from __future__ import annotations

import hashlib
import json
import subprocess
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from .build import kubectl
from .processes import State
from .progress import run_logged, say, step
from .settings import REPO, Dirs

__all__ = ["LEASE_NAMESPACE", "apply_dev_manifests", "fingerprint", "manifest_files"]

LEASE_NAMESPACE = "almanac-system"
_LEASE_NAMESPACE_YAML = f"apiVersion: v1\nkind: Namespace\nmetadata:\n  name: {LEASE_NAMESPACE}\n"
_KEY = "dev-manifests"


def _manifests_in(folder: Path) -> list[Path]:
    """The files ``kubectl apply -f <folder>`` reads (it takes these three extensions)."""
    return sorted(p for p in folder.glob("*") if p.suffix in {".yaml", ".yml", ".json"})


def manifest_files(repo: Path = REPO) -> list[Path]:
    """What ``make dev`` applies, in the order it applies them."""
    return [
        *_manifests_in(repo / "crds"),
        *_manifests_in(repo / "config" / "templates"),
        repo / "hack" / "examples" / "hello.yaml",
    ]


def fingerprint(files: Sequence[Path], live: Mapping[str, Any]) -> str:
    """A digest of the manifests' content and of the identity (uid, generation) of every
    object ``live`` (a ``kubectl get -o json`` answer) holds."""
    digest = hashlib.sha256()
    for path in files:
        digest.update(
            json.dumps([path.name, hashlib.sha256(path.read_bytes()).hexdigest()]).encode()
        )
    items = live.get("items") if live.get("kind") == "List" else [live]
    marks = sorted(
        json.dumps(
            [
                item.get("kind"),
                meta.get("namespace", ""),
                meta.get("name"),
                meta.get("uid"),
                meta.get("generation", 0),
            ]
        )
        for item in items or []
        for meta in [item.get("metadata") or {}]
    )
    for mark in marks:
        digest.update(mark.encode())
    return digest.hexdigest()


def _live(dirs: Dirs, files: Sequence[Path]) -> dict[str, Any] | None:
    """Every object of ``files`` plus the lease namespace, as the API server has them now;
    None when any is missing (or the API cannot say)."""
    argv = [str(kubectl()), f"--kubeconfig={dirs.kubeconfig}", "get", "-o", "json"]
    for path in files:
        argv += ["-f", str(path)]
    result = subprocess.run(
        [*argv, "-f", "-"],
        input=_LEASE_NAMESPACE_YAML,
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )
    if result.returncode != 0:
        return None
    live: dict[str, Any] = json.loads(result.stdout)
    return live


def _kubectl(dirs: Dirs, name: str, *args: str) -> None:
    run_logged(
        name, [kubectl(), f"--kubeconfig={dirs.kubeconfig}", *args], dirs.logs / "dev-kubectl.log"
    )


def apply_dev_manifests(dirs: Dirs, state: State) -> None:
    """Apply the CRDs, templates, lease namespace and sample unless already applied."""
    files = manifest_files()
    live = _live(dirs, files)
    if live is not None and state.applied.get(_KEY) == fingerprint(files, live):
        say("CRDs, templates and the sample ScheduledJob are applied and unchanged")
        return
    crds = [path for path in files if path.parent.name == "crds"]
    templates = [path for path in files if path.parent.name == "templates"]
    sample = [path for path in files if path not in crds and path not in templates]
    with step("installing the CRDs and the sample ScheduledJob"):
        crd_args = [arg for path in crds for arg in ("-f", str(path))]
        _kubectl(dirs, "apply CRDs", "apply", "--server-side", "--force-conflicts", *crd_args)
        _kubectl(
            dirs,
            "wait for CRDs",
            "wait",
            "--for=condition=Established",
            "--timeout=60s",
            "crd/scheduledjobs.almanac.dev",
        )
        if templates:
            args = [arg for path in templates for arg in ("-f", str(path))]
            _kubectl(dirs, "apply templates", "apply", *args)
        subprocess.run(
            [kubectl(), f"--kubeconfig={dirs.kubeconfig}", "create", "namespace", LEASE_NAMESPACE],
            capture_output=True,
            check=False,
        )
        for path in sample:
            _kubectl(dirs, "apply sample", "apply", "-f", str(path))
    applied = _live(dirs, files)
    if applied is not None:
        state.applied[_KEY] = fingerprint(files, applied)
