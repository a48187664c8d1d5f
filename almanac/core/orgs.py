"""Which organisation an ``export`` runs as: its namespace's, never one its params name.

The Export Service authorises on the ``x-rh-identity`` the run sends, and the run builds it
from ``params.orgId``. A tenant who could name any organisation there would export that
organisation's data, so whoever writes the spec (the facade for REST, the webhook for
kubectl and GitOps) compares the named organisation with the one the namespace belongs to
(its ``almanac.dev/org-id`` label, or the caller's for the facade) with this one check.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Final

from almanac.core.errors import InvalidInputError
from almanac.core.vocabulary import LABEL_ORG_ID

__all__ = ["EXPORT_TEMPLATE", "LABEL_ORG_ID", "foreign_org_problem", "named_org"]

#: The built-in template whose runs act as an organisation.
EXPORT_TEMPLATE: Final = "export"


def named_org(spec: Mapping[str, Any]) -> Any:
    """The ``orgId`` an export spec's params name (``None``: not an export, or none)."""
    if spec.get("template") != EXPORT_TEMPLATE:
        return None
    params = spec.get("params")
    return params.get("orgId") if isinstance(params, Mapping) else None


def foreign_org_problem(
    spec: Mapping[str, Any], org_id: str | None, field: str, fix: str
) -> InvalidInputError | None:
    """A problem naming ``field`` when the spec's export names an organisation other than
    ``org_id`` (the namespace's; ``None``: the namespace belongs to none, so it may name
    none); ``fix`` says what to do instead."""
    named = named_org(spec)
    if named is None or named == org_id:
        return None
    if org_id is None:
        message = (
            f"names organisation {named!r}, but this namespace belongs to no organisation "
            f"(no {LABEL_ORG_ID} label); {fix}"
        )
    else:
        message = (
            f"names organisation {named!r}, but an export runs as its namespace's "
            f"organisation {org_id!r}; {fix}"
        )
    return InvalidInputError(message, field)
