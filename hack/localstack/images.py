"""Container images without a registry: base, pause and the project's own image.

The base image is a debootstrapped Debian with Python 3.11 (nothing from a registry);
the project image is built by Docker from the top-level ``Dockerfile`` with dependencies
from a wheelhouse built on the host (the build container cannot reach PyPI here), then
loaded into the node's containerd as ``kind load docker-image`` would.

Every step is skipped when its result is already there, so ``up`` on a running stack and
an unchanged checkout builds, loads and removes nothing: the project image is tagged with
a digest of its inputs (:mod:`.imagetag`), and an image with that tag is the build.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import tempfile
import tomllib
from pathlib import Path

from .imagetag import input_digest
from .inuse import cluster_images, process_images, prunable
from .processes import State
from .progress import StepFailed, run_logged, say, step
from .settings import BASE_IMAGE, PAUSE_IMAGE, PROJECT_IMAGE, REPO, Dirs

__all__ = ["build_images", "ensure_project_image", "load_image", "project_image_name"]

REPOSITORY = PROJECT_IMAGE.rsplit(":", 1)[0]
#: What the local build feeds the Dockerfile: the base image and the wheelhouse.
BUILD_ARGS = {
    "BASE_IMAGE": BASE_IMAGE,
    "PIP_INSTALL_ARGS": "--no-index --find-links=/wheels",
}

DEBIAN_MIRROR = "http://deb.debian.org/debian"
_NAME_AND_ID = "{{.Repository}}:{{.Tag}} {{.ID}}"


def _docker(dirs: Dirs, *args: str) -> list[str]:
    return ["/usr/bin/docker", "-H", f"unix://{dirs.docker_socket}", *args]


def _ctr(dirs: Dirs, *args: str) -> list[str]:
    return ["ctr", "-a", str(dirs.containerd_socket), "-n", "k8s.io", *args]


def _image_id(dirs: Dirs, name: str) -> str | None:
    probe = subprocess.run(
        _docker(dirs, "image", "inspect", "--format", "{{.Id}}", name),
        capture_output=True,
        text=True,
        check=False,
    )
    return probe.stdout.strip() if probe.returncode == 0 else None


def _has_image(dirs: Dirs, name: str) -> bool:
    return _image_id(dirs, name) is not None


def _docker_images(dirs: Dirs) -> dict[str, str]:
    """The project repository's names in Docker, each with its image id."""
    listed = subprocess.run(
        _docker(dirs, "image", "ls", "--no-trunc", "--format", _NAME_AND_ID, REPOSITORY),
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    rows = [line.split() for line in listed.splitlines()]
    return {row[0]: row[1] for row in rows if len(row) == 2}


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


def _dockerfile_default_base() -> str:
    """The ``BASE_IMAGE`` a plain ``docker build .`` uses (the Dockerfile's default)."""
    for line in (REPO / "Dockerfile").read_text().splitlines():
        if line.startswith("ARG BASE_IMAGE="):
            return line.partition("=")[2].strip()
    raise StepFailed("the Dockerfile has no 'ARG BASE_IMAGE=<default>' line")


def build_default_base_image(dirs: Dirs) -> None:
    """The Dockerfile's default base, as the stack's Docker has it: the debootstrapped base
    with pip told to install from the checkout's ``wheelhouse/``, so that the README's
    plain ``docker build .`` works here (no Docker Hub, no PyPI in a build). The label
    ties it to the base it was made from: a new base makes a new one."""
    name, base_id = _dockerfile_default_base(), _image_id(dirs, BASE_IMAGE)
    labelled = subprocess.run(
        _docker(dirs, "image", "inspect", "--format", '{{index .Config.Labels "base"}}', name),
        capture_output=True,
        text=True,
        check=False,
    ).stdout.strip()
    if base_id is None or labelled == base_id:
        return
    log = dirs.build_logs / "default-base-image.log"
    dockerfile = (
        f"FROM {BASE_IMAGE}\nLABEL base={base_id}\nENV PIP_NO_INDEX=1 PIP_FIND_LINKS=/wheels\n"
    )
    with step(f"tagging the stack's {name} (the base with an offline pip)"):
        result = subprocess.run(
            _docker(dirs, "build", "--network=none", "-t", name, "-"),
            input=dockerfile.encode(),
            capture_output=True,
            check=False,
            env=dict(os.environ, DOCKER_BUILDKIT="0"),
        )
    if result.returncode != 0:
        log.write_bytes(result.stdout + result.stderr)
        raise StepFailed(f"building {name} failed (log: {log})")


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


def _sync_wheelhouse(house: Path, context_wheels: Path) -> None:
    """Make the build context's ``wheelhouse/`` hold exactly the cached wheels, touching
    only what differs (relinking all of them every time rewrote the checkout for nothing)."""
    wanted = {wheel.name: wheel for wheel in house.glob("*.whl")}
    for old in context_wheels.glob("*.whl"):
        if old.name not in wanted:
            old.unlink()
    for name, wheel in wanted.items():
        target = context_wheels / name
        if not target.exists():
            try:
                os.link(wheel, target)
            except OSError:  # the cache on another file system
                shutil.copy2(wheel, target)


def project_image_name(dirs: Dirs) -> str:
    """``localhost/almanac:<digest of the image's inputs>`` for the checkout as it is now.

    Fills the context's ``wheelhouse/`` first: the wheels are inputs too.
    """
    context_wheels = REPO / "wheelhouse"
    context_wheels.mkdir(exist_ok=True)
    _sync_wheelhouse(_wheelhouse(dirs), context_wheels)
    base_id = _image_id(dirs, BASE_IMAGE)
    if base_id is None:
        raise StepFailed(f"{BASE_IMAGE} is missing from the stack's Docker")
    return f"{REPOSITORY}:{input_digest(REPO, BUILD_ARGS, base_id)}"


def ensure_project_image(dirs: Dirs) -> str:
    """Build the project image unless Docker has it already; point ``:dev`` at it; return
    its content name."""
    name = project_image_name(dirs)
    known = _docker_images(dirs)
    if name in known:
        if known.get(PROJECT_IMAGE) != known[name]:
            subprocess.run(
                _docker(dirs, "tag", name, PROJECT_IMAGE), check=True, capture_output=True
            )
        say(f"project image {name} is up to date")
        return name
    log = dirs.build_logs / "project-image.log"
    with step(f"building {name} from the Dockerfile (log: {log})"):
        args = [
            arg for key, value in BUILD_ARGS.items() for arg in ("--build-arg", f"{key}={value}")
        ]
        run_logged(
            "docker build",
            _docker(
                dirs, "build", "--network=none", *args, "-t", PROJECT_IMAGE, "-t", name, str(REPO)
            ),
            log,
            env=dict(os.environ, DOCKER_BUILDKIT="0"),
        )
    return name


def node_images(dirs: Dirs) -> dict[str, str]:
    """The node's image references (names, and ``sha256:`` ids), each with its digest."""
    listed = subprocess.run(
        _ctr(dirs, "images", "ls"), capture_output=True, text=True, check=True
    ).stdout.splitlines()
    rows = [line.split() for line in listed[1:]]
    return {row[0]: row[2] for row in rows if len(row) >= 3}


def load_image(dirs: Dirs, node: dict[str, str], *names: str) -> None:
    """Import images into the node's containerd unless it has all of them, and as one
    image (so a moved tag such as ``:dev`` follows its content tag)."""
    if all(name in node for name in names) and len({node[name] for name in names}) == 1:
        return
    log = dirs.build_logs / "image-load.log"
    with step(f"loading {' '.join(names)} into the node"):
        save = subprocess.Popen(_docker(dirs, "save", *names), stdout=subprocess.PIPE)
        result = subprocess.run(
            _ctr(dirs, "images", "import", "-"),
            stdin=save.stdout,
            capture_output=True,
            check=False,
        )
        save.wait()
    if result.returncode != 0 or save.returncode != 0:
        log.write_bytes(result.stdout + result.stderr)
        raise StepFailed(f"loading {' '.join(names)} into the node failed (log: {log})")


def build_images(dirs: Dirs, state: State) -> str:
    """Build and load into the node whatever is missing; return the project image."""
    build_base_image(dirs)
    build_default_base_image(dirs)
    build_pause_image(dirs)
    name = ensure_project_image(dirs)
    node = node_images(dirs)
    load_image(dirs, node, PAUSE_IMAGE)
    load_image(dirs, node, PROJECT_IMAGE, name)
    prune_old_builds(dirs, state, keep={PROJECT_IMAGE, name})
    return name


def prune_old_builds(dirs: Dirs, state: State, keep: set[str]) -> None:
    """Drop older project images from Docker and the node, except those still in use
    (:mod:`.inuse`). The cheap checks come first: most runs have nothing to drop, and
    the API server is only asked when a candidate survives the process check."""
    docker, node = _docker_images(dirs), node_images(dirs)
    referenced = set(keep)

    def candidates() -> tuple[list[str], list[str]]:
        return prunable(docker, REPOSITORY, referenced), prunable(node, REPOSITORY, referenced)

    if not any(candidates()):
        return
    referenced |= process_images(state)
    if not any(candidates()):
        return
    try:
        referenced |= cluster_images(dirs, state)
    except (OSError, ValueError) as error:
        say(f"keeping older project images: cannot list the pods that may use them ({error})")
        return
    old, stale = candidates()
    if old:
        subprocess.run(_docker(dirs, "image", "rm", *old), capture_output=True, check=False)
        subprocess.run(_docker(dirs, "image", "prune", "-f"), capture_output=True, check=False)
    if stale:
        subprocess.run(_ctr(dirs, "images", "rm", *stale), capture_output=True, check=False)
    say(f"pruned older project images no longer in use: {' '.join(sorted({*old, *stale}))}")
