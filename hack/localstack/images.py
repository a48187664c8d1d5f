"""Container images without a registry: base, pause and the project's own image.

The base image is a debootstrapped Debian with Python 3.11 (nothing from a registry);
the project image is built by Docker from the top-level ``Dockerfile`` with dependencies
from a wheelhouse built on the host (the build container cannot reach PyPI here), then
loaded into the node's containerd as ``kind load docker-image`` would.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import tempfile
import tomllib
from pathlib import Path

from .progress import StepFailed, run_logged, step
from .settings import BASE_IMAGE, PAUSE_IMAGE, PROJECT_IMAGE, REPO, Dirs

__all__ = ["build_images", "load_image", "project_image_tag"]

DEBIAN_MIRROR = "http://deb.debian.org/debian"


def _docker(dirs: Dirs, *args: str) -> list[str]:
    return ["/usr/bin/docker", "-H", f"unix://{dirs.docker_socket}", *args]


def _has_image(dirs: Dirs, name: str) -> bool:
    probe = subprocess.run(
        _docker(dirs, "image", "inspect", name), capture_output=True, check=False
    )
    return probe.returncode == 0


def _import_rootfs(dirs: Dirs, rootfs: Path, name: str, log: Path, *changes: str) -> None:
    tar = subprocess.Popen(["tar", "-C", rootfs, "-c", "."], stdout=subprocess.PIPE)
    flags = [arg for change in changes for arg in ("-c", change)]
    result = subprocess.run(
        _docker(dirs, "import", *flags, "-", name),
        stdin=tar.stdout,
        capture_output=True,
        check=False,
    )
    tar.wait()
    if result.returncode != 0 or tar.returncode != 0:
        log.write_bytes(result.stdout + result.stderr)
        raise StepFailed(f"docker import of {name} failed (log: {log})")


def build_base_image(dirs: Dirs) -> None:
    if _has_image(dirs, BASE_IMAGE):
        return
    log = dirs.build_logs / "base-image.log"
    with (
        step(f"building base image {BASE_IMAGE} with debootstrap (~70 s; log: {log})"),
        tempfile.TemporaryDirectory(dir=dirs.cache) as tmp,
    ):
        rootfs = Path(tmp) / "rootfs"
        run_logged(
            "debootstrap",
            [
                "debootstrap",
                "--variant=minbase",
                "--include=python3,python3-venv,ca-certificates,tzdata",
                "bookworm",
                rootfs,
                DEBIAN_MIRROR,
            ],
            log,
        )
        for cache in ("var/cache/apt/archives", "var/lib/apt/lists"):
            shutil.rmtree(rootfs / cache, ignore_errors=True)
        _import_rootfs(dirs, rootfs, BASE_IMAGE, log, 'CMD ["/usr/bin/python3"]')


def build_pause_image(dirs: Dirs) -> None:
    if _has_image(dirs, PAUSE_IMAGE):
        return
    log = dirs.build_logs / "pause-image.log"
    with (
        step(f"building pause image {PAUSE_IMAGE}"),
        tempfile.TemporaryDirectory(dir=dirs.cache) as tmp,
    ):
        rootfs = Path(tmp)
        (rootfs / "bin").mkdir()
        shutil.copy2("/bin/busybox", rootfs / "bin" / "busybox")
        (rootfs / "bin" / "sleep").symlink_to("busybox")
        _import_rootfs(dirs, rootfs, PAUSE_IMAGE, log, 'ENTRYPOINT ["/bin/sleep", "infinity"]')


def _wheelhouse(dirs: Dirs) -> Path:
    """Dependency wheels for the image, rebuilt only when the dependencies change."""
    project = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
    wanted = project["dependencies"] + project["optional-dependencies"]["runtime"]
    digest = hashlib.sha256("\n".join(wanted).encode()).hexdigest()[:12]
    house = dirs.cache / f"wheelhouse-{digest}"
    if house.exists():
        return house
    log = dirs.build_logs / "wheelhouse.log"
    partial = house.with_name(house.name + ".partial")
    shutil.rmtree(partial, ignore_errors=True)
    with step(f"building the dependency wheelhouse (log: {log})"):
        run_logged(
            "pip wheel",
            [
                REPO / ".venv" / "bin" / "pip",
                "wheel",
                "-q",
                "-w",
                partial,
                f"{REPO}[runtime]",
                "setuptools>=68",
                "wheel",
            ],
            log,
        )
    for own in partial.glob("almanac-*.whl"):
        own.unlink()
    partial.rename(house)
    return house


def project_image_tag(dirs: Dirs) -> str:
    """The content tag of the project image: its Docker image id, shortened."""
    result = subprocess.run(
        _docker(dirs, "image", "inspect", "--format", "{{.Id}}", PROJECT_IMAGE),
        capture_output=True,
        text=True,
        check=True,
    )
    return "localhost/almanac:" + result.stdout.strip().removeprefix("sha256:")[:12]


def build_project_image(dirs: Dirs) -> str:
    house = _wheelhouse(dirs)
    context_wheels = REPO / "wheelhouse"
    for old in context_wheels.glob("*.whl"):
        old.unlink()
    for wheel in house.glob("*.whl"):
        os.link(wheel, context_wheels / wheel.name)
    log = dirs.build_logs / "project-image.log"
    with step(f"building {PROJECT_IMAGE} from the Dockerfile (log: {log})"):
        run_logged(
            "docker build",
            _docker(
                dirs,
                "build",
                "--network=none",
                "--build-arg",
                f"BASE_IMAGE={BASE_IMAGE}",
                "--build-arg",
                "PIP_INSTALL_ARGS=--no-index --find-links=/wheels",
                "-t",
                PROJECT_IMAGE,
                str(REPO),
            ),
            log,
            env=dict(os.environ, DOCKER_BUILDKIT="0"),
        )
    tag = project_image_tag(dirs)
    subprocess.run(_docker(dirs, "tag", PROJECT_IMAGE, tag), check=True, capture_output=True)
    return tag


def _node_images(dirs: Dirs) -> set[str]:
    result = subprocess.run(
        ["ctr", "-a", str(dirs.containerd_socket), "-n", "k8s.io", "images", "ls", "-q"],
        capture_output=True,
        text=True,
        check=True,
    )
    return set(result.stdout.split())


def load_image(dirs: Dirs, *names: str) -> None:
    """Import images into the node's containerd unless it has every one of them.

    All names are imported together, so a moved tag (``:dev``) follows its content tag.
    """
    if set(names) <= _node_images(dirs):
        return
    missing = list(names)
    log = dirs.build_logs / "image-load.log"
    save = subprocess.Popen(_docker(dirs, "save", *missing), stdout=subprocess.PIPE)
    result = subprocess.run(
        ["ctr", "-a", str(dirs.containerd_socket), "-n", "k8s.io", "images", "import", "-"],
        stdin=save.stdout,
        capture_output=True,
        check=False,
    )
    save.wait()
    if result.returncode != 0 or save.returncode != 0:
        log.write_bytes(result.stdout + result.stderr)
        raise StepFailed(f"loading {' '.join(missing)} into the node failed (log: {log})")


def build_images(dirs: Dirs) -> str:
    """Build what is missing and load all three images into the node; return the tag."""
    build_base_image(dirs)
    build_pause_image(dirs)
    tag = build_project_image(dirs)
    load_image(dirs, PAUSE_IMAGE)
    load_image(dirs, PROJECT_IMAGE, tag)
    _prune_old_builds(dirs, keep={PROJECT_IMAGE, tag})
    return tag


def _prune_old_builds(dirs: Dirs, keep: set[str]) -> None:
    """Drop earlier content tags of the project image from Docker and the node."""
    repository = PROJECT_IMAGE.rsplit(":", 1)[0]
    listed = subprocess.run(
        _docker(dirs, "image", "ls", "--format", "{{.Repository}}:{{.Tag}}", repository),
        capture_output=True,
        text=True,
        check=False,
    ).stdout.split()
    old = [name for name in listed if name not in keep]
    if old:
        subprocess.run(_docker(dirs, "image", "rm", *old), capture_output=True, check=False)
    subprocess.run(_docker(dirs, "image", "prune", "-f"), capture_output=True, check=False)
    stale = [n for n in _node_images(dirs) if n.startswith(repository + ":") and n not in keep]
    if stale:
        subprocess.run(
            ["ctr", "-a", str(dirs.containerd_socket), "-n", "k8s.io", "images", "rm", *stale],
            capture_output=True,
            check=False,
        )
