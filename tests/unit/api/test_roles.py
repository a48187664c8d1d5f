"""Roles inside one organisation: admins change anything, members only their own jobs,
readers nothing; one named case per rule."""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from almanac.api.identity import Identity
from almanac.api.roles import Role, RoleForbiddenError, RolePolicy

POLICY = RolePolicy.of(admins=["root-by-list"], readers=["auditor", "demoted-admin"])


def _who(username: str, *, admin: bool = False) -> Identity:
    return Identity(org_id="101", username=username, user_id=f"id-{username}", is_org_admin=admin)


def _job(created_by: str | None) -> dict[str, object]:
    annotations = {"almanac.dev/created-by": created_by} if created_by else {}
    return {"metadata": {"name": "nightly", "annotations": annotations}}


@dataclass(frozen=True)
class Case:
    caller: Identity
    created_by: str | None
    allowed: bool
    reason: str = ""


CASES = {
    "member-changes-own-job": Case(_who("ann"), "ann", allowed=True),
    "member-changes-anothers-job": Case(_who("bob"), "ann", False, "was created by 'ann'"),
    "member-changes-kubectl-job": Case(
        _who("bob"), None, False, "was not created through this API"
    ),
    "admin-by-flag-changes-anothers-job": Case(_who("carol", admin=True), "ann", allowed=True),
    "admin-by-flag-changes-kubectl-job": Case(_who("carol", admin=True), None, allowed=True),
    "admin-by-list-changes-anothers-job": Case(_who("root-by-list"), "ann", allowed=True),
    "reader-changes-own-job": Case(_who("auditor"), "auditor", False, "read-only role"),
    "listed-reader-with-admin-flag-stays-reader": Case(
        _who("demoted-admin", admin=True), "ann", False, "read-only role"
    ),
}


@pytest.mark.parametrize("case", CASES.values(), ids=CASES.keys())
def test_change_is_allowed_only_by_role_and_ownership(case: Case) -> None:
    if case.allowed:
        POLICY.check_change(case.caller, _job(case.created_by), "delete")
        return
    with pytest.raises(RoleForbiddenError) as refused:
        POLICY.check_change(case.caller, _job(case.created_by), "delete")
    assert case.reason in refused.value.message
    assert refused.value.status == 403
    assert refused.value.body()["errors"] == [
        {"field": None, "message": refused.value.message, "code": "forbidden"}
    ]


def test_the_refusal_names_the_action_and_who_may_do_it() -> None:
    with pytest.raises(
        RoleForbiddenError, match="only its creator or an organisation admin may pause it"
    ):
        POLICY.check_change(_who("bob"), _job("ann"), "pause")


@pytest.mark.parametrize(
    ("caller", "role"),
    [
        (_who("ann"), Role.MEMBER),
        (_who("carol", admin=True), Role.ADMIN),
        (_who("root-by-list"), Role.ADMIN),
        (_who("auditor"), Role.READER),
        (_who("demoted-admin", admin=True), Role.READER),
    ],
    ids=["member", "admin-flag", "admin-list", "reader", "reader-wins-over-flag"],
)
def test_role_of_caller(caller: Identity, role: Role) -> None:
    assert POLICY.role_of(caller) is role


def test_readers_may_not_create_but_members_may() -> None:
    POLICY.check_create(_who("ann"))
    with pytest.raises(RoleForbiddenError, match="read-only role"):
        POLICY.check_create(_who("auditor"))


def test_without_configured_lists_everyone_is_a_member_or_an_admin_by_flag() -> None:
    policy = RolePolicy()
    assert policy.role_of(_who("ann")) is Role.MEMBER
    assert policy.role_of(_who("carol", admin=True)) is Role.ADMIN
