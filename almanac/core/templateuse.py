"""Which template a ScheduledJob runs, and whether its namespace and params may use it.

The operator (before every launch: templates change after admission) and the REST facade
(before it writes) answer these with the same functions, so neither accepts a job the
other refuses. The lookup order: a namespaced ``JobTemplate`` of that name, then a
``ClusterJobTemplate``, then the built-in payload type of that name. A ClusterJobTemplate
may list ``allowedNamespaces``; a namespaced one serves only its own namespace anyway. Pure.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, TypeVar

from almanac.core.errors import AlmanacError, InvalidInputError
from almanac.core.params import validate_params

__all__ = ["choose_template", "namespace_refusal", "use_refusal"]

T = TypeVar("T")


def choose_template(namespaced: T | None, cluster: T | None, builtin: T | None) -> T | None:
    """The template a name resolves to: the namespace's own, else the cluster's, else the
    built-in payload type's (``None`` when there is none of them)."""
    if namespaced is not None:
        return namespaced
    return cluster if cluster is not None else builtin


def namespace_refusal(
    template: str, allowed: Sequence[str] | None, namespace: str
) -> InvalidInputError | None:
    """Why ``namespace`` may not use a ClusterJobTemplate that lists ``allowed`` (empty or
    ``None``: every namespace may)."""
    if not allowed or namespace in allowed:
        return None
    return InvalidInputError(
        f"template {template!r} may not be used in namespace {namespace!r}; use another "
        "template or ask its owner to allow this namespace",
        "spec.template",
    )


def use_refusal(
    template: str,
    allowed: Sequence[str] | None,
    namespace: str,
    params: Mapping[str, Any] | None,
    params_schema: Mapping[str, Any] | None,
) -> AlmanacError | None:
    """Why a job in ``namespace`` may not run ``template`` with ``params`` (``None``: the
    params are not complete yet, as for a trigger-only job before its event maps them)."""
    refused = namespace_refusal(template, allowed, namespace)
    if refused is not None or params is None:
        return refused
    try:
        validate_params(params, params_schema)
    except AlmanacError as exc:
        return exc
    return None
