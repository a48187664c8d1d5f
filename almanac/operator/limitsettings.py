"""The launch limits, read once from the environment at the operator's start.

Why operator settings and not a cluster-scoped ``SchedulingPolicy`` resource: the limits
protect the cluster (its API server, its nodes) from Almanac as a whole, so they belong to
whoever installs Almanac, next to its other process settings and chart values; there is
exactly one policy per installation, and a resource would add a CRD, a watch, RBAC and
an "which one wins" rule for a single object. A change takes a rollout of the operator
(seconds; the queue lives in the API server as suspended Jobs, so nothing waiting is
lost, and the new leader releases what the new limits allow). Per-job limits are the
job's own: ``spec.maxConcurrentRuns``.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Final

from almanac.core.errors import InvalidInputError
from almanac.core.queueing import Limits

__all__ = ["LIMIT_VARIABLES", "LimitSettings"]

#: Variable -> what it limits; each is unset (unlimited) by default.
LIMIT_VARIABLES: Final = {
    "ALMANAC_MAX_ACTIVE_RUNS_PER_NAMESPACE": "per_namespace",
    "ALMANAC_MAX_ACTIVE_RUNS_PER_ORG": "per_org",
    "ALMANAC_MAX_ACTIVE_RUNS": "total",
}
_MOST: Final = 1_000_000


def _count(env: Mapping[str, str], name: str) -> int | None:
    raw = env.get(name, "").strip()
    if not raw:
        return None
    if raw.isdigit() and 1 <= int(raw) <= _MOST:
        return int(raw)
    raise InvalidInputError(
        f"{name}={raw!r} is not a whole number from 1 to {_MOST}; fix it, or unset it for no limit",
        name,
    )


def _rate(env: Mapping[str, str], name: str) -> float | None:
    raw = env.get(name, "").strip()
    if not raw:
        return None
    try:
        value = float(raw)
    except ValueError:
        value = 0.0
    if not 0.01 <= value <= 10_000:
        raise InvalidInputError(
            f"{name}={raw!r} is not a number of launches per second from 0.01 to 10000; "
            "fix it, or unset it for no limit",
            name,
        )
    return value


@dataclass(frozen=True)
class LimitSettings:
    """``ALMANAC_MAX_ACTIVE_RUNS_PER_NAMESPACE``, ``ALMANAC_MAX_ACTIVE_RUNS_PER_ORG`` (by
    the namespace's ``almanac.dev/org-id`` label; unlabelled namespaces have no
    organisation limit), ``ALMANAC_MAX_ACTIVE_RUNS`` (the whole cluster),
    ``ALMANAC_LAUNCHES_PER_SECOND`` and ``ALMANAC_LAUNCH_BURST`` (a token bucket; the
    burst defaults to one second's launches, at least 1). All unset: no limit."""

    limits: Limits = field(default_factory=Limits)

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> LimitSettings:
        """The limits ``env`` sets; raises :class:`InvalidInputError` naming a bad one."""
        env = os.environ if env is None else env
        caps = {field: _count(env, name) for name, field in LIMIT_VARIABLES.items()}
        rate = _rate(env, "ALMANAC_LAUNCHES_PER_SECOND")
        burst = _count(env, "ALMANAC_LAUNCH_BURST")
        if burst is not None and rate is None:
            raise InvalidInputError(
                "ALMANAC_LAUNCH_BURST is set without ALMANAC_LAUNCHES_PER_SECOND; set the rate "
                "too, or unset the burst",
                "ALMANAC_LAUNCH_BURST",
            )
        default_burst = max(1, int(rate or 1))
        return cls(
            Limits(
                per_namespace=caps["per_namespace"],
                per_org=caps["per_org"],
                total=caps["total"],
                launches_per_second=rate,
                burst=burst or default_burst,
            )
        )
