"""Render and run the Helm chart with the Helm the local stack builds (and caches)."""

from __future__ import annotations

import os
import subprocess
from collections.abc import Sequence
from functools import cache
from pathlib import Path
from typing import Any

import yaml

from hack.localstack.build import build_helm
from hack.localstack.settings import Dirs

__all__ = ["CHART", "REPO", "HelmError", "helm", "helm_binary", "render", "set_args"]

REPO = Path(__file__).resolve().parents[3]
CHART = REPO / "charts" / "almanac"


class HelmError(Exception):
    """helm exited non-zero; the message carries its stderr."""

    def __init__(self, args: Sequence[str], stderr: str) -> None:
        super().__init__(f"helm {' '.join(args)}: {stderr.strip()}")
        self.stderr = stderr


@cache
def helm_binary() -> Path:
    """The stack's Helm (v4), built on first use exactly as ``hack/stack up`` builds it."""
    dirs = Dirs.from_env()
    build_helm(dirs)
    return dirs.helm


def helm(*args: str, kubeconfig: str | None = None, timeout: float = 120) -> str:
    env = dict(os.environ)
    if kubeconfig:
        env["KUBECONFIG"] = kubeconfig
    result = subprocess.run(
        [str(helm_binary()), *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        env=env,
        check=False,
    )
    if result.returncode != 0:
        raise HelmError(args, result.stderr)
    return result.stdout


# Keys the chart takes as text whatever they look like: ``--set`` would read the image tag
# ``548740017674`` (a content hash that happens to be all digits) as a number.
TEXT_KEYS = frozenset({"image.tag"})


def set_args(values: dict[str, str]) -> list[str]:
    """``--set key=value`` per value; ``--set-string`` for the keys in ``TEXT_KEYS``."""
    return [
        arg
        for key, value in values.items()
        for arg in ("--set-string" if key in TEXT_KEYS else "--set", f"{key}={value}")
    ]


def render(
    values: dict[str, str] | None = None,
    *,
    api_versions: Sequence[str] = (),
    namespace: str = "almanac-system",
    show_only: str | None = None,
) -> list[dict[str, Any]]:
    """``helm template`` of the chart: every object, hooks included, as dicts."""
    args = ["template", "almanac", str(CHART), "-n", namespace, *set_args(values or {})]
    args += [arg for version in api_versions for arg in ("--api-versions", version)]
    if show_only:
        args += ["--show-only", show_only]
    return [doc for doc in yaml.safe_load_all(helm(*args)) if doc]
