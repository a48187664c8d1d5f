"""Operator settings, read once from the environment at start-up.

Every variable is named in the error when it is malformed, with the fix.
"""

from __future__ import annotations

import os
import socket
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field

from almanac.core.errors import InvalidInputError

__all__ = ["OperatorConfig"]


def _int(env: Mapping[str, str], name: str, default: int, low: int, high: int) -> int:
    raw = env.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        value = low - 1
    if not low <= value <= high:
        raise InvalidInputError(
            f"{name}={raw!r} is not a whole number from {low} to {high}; fix or unset it", name
        )
    return value


@dataclass(frozen=True)
class OperatorConfig:
    """What one operator process needs to know; see the README for each variable."""

    image: str
    lease_namespace: str
    lease_name: str = "almanac-operator"
    identity: str = field(default_factory=lambda: f"{socket.gethostname()}-{uuid.uuid4().hex[:6]}")
    namespaces: tuple[str, ...] = ()
    metrics_port: int = 8080
    launch_concurrency: int = 32

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> OperatorConfig:
        env = os.environ if env is None else env
        namespaces = tuple(
            n.strip() for n in env.get("ALMANAC_WATCH_NAMESPACES", "").split(",") if n.strip()
        )
        return cls(
            image=env.get("ALMANAC_IMAGE", "localhost/almanac:dev"),
            lease_namespace=env.get("ALMANAC_LEASE_NAMESPACE")
            or env.get("POD_NAMESPACE")
            or "default",
            lease_name=env.get("ALMANAC_LEASE_NAME", "almanac-operator"),
            identity=env.get("ALMANAC_IDENTITY")
            or env.get("POD_NAME")
            or f"{socket.gethostname()}-{uuid.uuid4().hex[:6]}",
            namespaces=namespaces,
            metrics_port=_int(env, "ALMANAC_METRICS_PORT", 8080, 0, 65535),
            launch_concurrency=_int(env, "ALMANAC_LAUNCH_CONCURRENCY", 32, 1, 256),
        )
