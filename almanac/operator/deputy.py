"""Admission's guard against a confused deputy: a writer gets no run power they lack.

The operator creates run pods with its own rights. :mod:`almanac.core.powers` lists what a
ScheduledJob would make it do (read a Secret, run as a ServiceAccount, place pods); here
each power a CREATE or UPDATE adds is checked for the writer with a SubjectAccessReview,
and the webhook refuses with 403 naming every missing permission and its field
(:func:`forbidden_causes`). The check
fails closed: when the API server cannot answer, the write is refused with a retry hint.

The REST facade's writes skip the webhook (its callers have no Kubernetes identity; the
facade's roles decide for them, see :mod:`almanac.api.roles`).
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Mapping, Sequence
from typing import Any

from almanac.core.errors import AlmanacError
from almanac.core.powers import Power, added_powers
from almanac.core.resource import parse_spec

from .logs import log

__all__ = ["AccessCheck", "UnverifiedPower", "denied_powers", "forbidden_causes"]

#: May ``userInfo`` use ``power`` in ``namespace`` themselves? (one SubjectAccessReview)
AccessCheck = Callable[[Mapping[str, Any], str, Power], Awaitable[bool]]


class UnverifiedPower(Power):
    """A power whose check did not get an answer (refused all the same: fail closed)."""


def _spec_of(obj: Any) -> Any:
    if not isinstance(obj, Mapping):
        return None
    try:
        return parse_spec(obj.get("spec") or {})
    except (AlmanacError, TypeError):
        return None  # the webhook's validation refuses it with the reason


async def denied_powers(request: Mapping[str, Any], access: AccessCheck) -> list[Power]:
    """The powers a ScheduledJob CREATE/UPDATE adds that its writer may not use."""
    if request.get("operation") not in ("CREATE", "UPDATE") or request.get("subResource"):
        return []
    new = _spec_of(request.get("object"))
    if new is None:
        return []
    old = _spec_of(request.get("oldObject")) if request.get("operation") == "UPDATE" else None
    added = added_powers(new, old)
    if not added:
        return []
    user = request.get("userInfo") or {}
    namespace = str(request.get("namespace") or "")
    answers = await asyncio.gather(
        *(access(user, namespace, p) for p in added), return_exceptions=True
    )
    denied: list[Power] = []
    for power, answer in zip(added, answers, strict=True):
        if isinstance(answer, BaseException):
            log.warning(
                "access review failed",
                extra={"namespace": namespace, "field": power.field, "error": str(answer)},
            )
            denied.append(UnverifiedPower(power.verb, power.resource, power.name, power.field))
        elif not answer:
            denied.append(power)
    return denied


def forbidden_causes(request: Mapping[str, Any], denied: Sequence[Power]) -> list[tuple[str, str]]:
    """(field, message) of each missing permission, for the webhook's 403."""
    namespace = str(request.get("namespace") or "")
    user = str((request.get("userInfo") or {}).get("username") or "the writer")

    def why(power: Power) -> str:
        if isinstance(power, UnverifiedPower):
            return (
                f"could not check whether {user} may {power.describe(namespace)} (the API "
                "server did not answer); retry"
            )
        return (
            f"a run would {power.describe(namespace)}, which {user} may not do; ask for "
            f"that permission or remove {power.field}"
        )

    return [(p.field, why(p)) for p in denied]
