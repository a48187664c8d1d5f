"""Who may change which job of an organisation: admins, members and readers. Pure.

Seed 000 lets deletion "verify job ownership"; seed 003 has roles. Inside one organisation:

* an **admin** (``identity.user.is_org_admin: true``, or a username listed in
  ``ALMANAC_API_ADMIN_USERS``) may do anything;
* a **member** reads every job of the organisation, creates jobs, and changes, runs,
  pauses, retries, backfills and deletes only the jobs whose ``almanac.dev/created-by``
  annotation is their own name (a job made with kubectl has none: only admins change it);
* a **reader** (a username listed in ``ALMANAC_API_READONLY_USERS``) only reads. Being
  listed as a reader wins over the admin flag, so an operator can demote someone at once.

A refusal is a 403 whose field is ``null`` (it is about the caller, not a field) and whose
message names the rule and who may do it instead.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from almanac.api.errors import ForbiddenError, Problem
from almanac.api.identity import Identity
from almanac.api.mapping import ANNOTATION_CREATED_BY

__all__ = ["Role", "RoleForbiddenError", "RolePolicy"]


class Role(StrEnum):
    """What a caller may do in their organisation."""

    ADMIN = "admin"
    MEMBER = "member"
    READER = "reader"


class RoleForbiddenError(ForbiddenError):
    """The caller's role does not allow this change (HTTP 403, field ``null``)."""

    def __init__(self, message: str) -> None:
        super().__init__(message, "", (Problem(None, message, self.code),))


@dataclass(frozen=True)
class RolePolicy:
    """The configured lists; everyone else is an admin by flag or a member."""

    admins: frozenset[str] = frozenset()
    readers: frozenset[str] = frozenset()

    @classmethod
    def of(cls, admins: Iterable[str] = (), readers: Iterable[str] = ()) -> RolePolicy:
        return cls(frozenset(admins), frozenset(readers))

    def role_of(self, who: Identity) -> Role:
        """The caller's role; a listed reader stays a reader whatever the header says."""
        if who.actor in self.readers:
            return Role.READER
        if who.is_org_admin or who.actor in self.admins:
            return Role.ADMIN
        return Role.MEMBER

    def check_create(self, who: Identity) -> None:
        """Readers may not create jobs."""
        if self.role_of(who) is Role.READER:
            raise RoleForbiddenError(
                f"{who.actor!r} has the read-only role in organisation {who.org_id!r}; "
                "ask an organisation admin to create the job or to change your role"
            )

    def check_change(self, who: Identity, job: Mapping[str, Any], action: str) -> None:
        """Refuse ``action`` on ``job`` unless the caller is an admin or its creator."""
        role = self.role_of(who)
        if role is Role.ADMIN:
            return
        if role is Role.READER:
            raise RoleForbiddenError(
                f"{who.actor!r} has the read-only role in organisation {who.org_id!r} and may "
                f"not {action} jobs; ask an organisation admin"
            )
        owner = ((job.get("metadata") or {}).get("annotations") or {}).get(ANNOTATION_CREATED_BY)
        if owner != who.actor:
            made_by = f"was created by {owner!r}" if owner else "was not created through this API"
            raise RoleForbiddenError(
                f"the job {made_by}; only its creator or an organisation admin may {action} it"
            )
