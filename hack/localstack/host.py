"""Host prerequisites: root, toolchains, and the Debian packages the node needs.

The stack installs missing Debian packages itself (a fresh machine has only the OS image),
says which, and refuses with one clear line when it cannot.
"""

from __future__ import annotations

import os
import shutil
import subprocess

from .progress import StepFailed, run_logged, say, step
from .settings import Dirs

__all__ = ["check_host", "install_packages", "require_tool"]

# Executable -> the Debian package that provides it.
PACKAGES: dict[str, str] = {
    "/usr/bin/containerd": "containerd",
    "/usr/sbin/runc": "runc",
    "/usr/lib/cni/bridge": "containernetworking-plugins",
    "/usr/sbin/dockerd": "docker.io",
    "/usr/sbin/debootstrap": "debootstrap",
    "/bin/busybox": "busybox-static",
    "/usr/sbin/conntrack": "conntrack",
    "/usr/sbin/iptables": "iptables",
    "/usr/lib/postgresql/15/bin/postgres": "postgresql-15",
    "/usr/bin/openssl": "openssl",
    # The web console's browser tests drive Debian's Chromium with Playwright (no browser
    # download is possible here): tests/unit/console, tests/integration/console.
    "/usr/bin/chromium": "chromium",
}

TOOLCHAINS = {
    "go": "Go (to build Kubernetes and Helm from the Go module proxy)",
    "java": "a JDK (to run Kafka)",
    "mvn": "Maven (to fetch the Kafka jars from Maven Central)",
}


def check_host() -> None:
    """Refuse early, in one line, when the stack cannot run here."""
    if os.geteuid() != 0:
        raise StepFailed(
            "hack/stack must run as root: it starts a kubelet, containerd and a network bridge"
            " (run it with sudo, or as root)"
        )


def require_tool(tool: str) -> None:
    """Refuse in one line when a build step needs a toolchain that is missing."""
    if shutil.which(tool) is None:
        raise StepFailed(f"'{tool}' is not on PATH: install {TOOLCHAINS[tool]} and try again")


def install_packages(dirs: Dirs) -> None:
    """apt-get install whatever node package is missing (once; later runs find them)."""
    missing = sorted({pkg for path, pkg in PACKAGES.items() if not os.path.exists(path)})
    if not missing:
        return
    log = dirs.build_logs / "apt.log"
    say(f"installing Debian packages: {' '.join(missing)} (log: {log})")
    env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
    with step("apt-get install"):
        run_logged("apt-get update", ["apt-get", "update", "-q"], log, env=env)
        run_logged(
            "apt-get install",
            ["apt-get", "install", "-y", "-q", "--no-install-recommends", *missing],
            log,
            env=env,
        )
    # Debian's packages try to start their own daemons; the stack runs its own instances.
    for service in ("containerd", "docker"):
        subprocess.run(
            ["service", service, "stop"],
            check=False,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
