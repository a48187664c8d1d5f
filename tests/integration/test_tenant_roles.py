"""kubectl tenants get Almanac's objects through the built-in roles: the ClusterRoles of
config/rbac/tenant-roles.yaml are aggregated into view/edit by the API server's own
controller, so a user bound to `edit` in one namespace writes ScheduledJobs there and
nowhere else, never RunRequests, and a user bound to `view` only reads.

Each test first waits for its legitimate path to work (the aggregation is asynchronous);
only then does a refusal mean something.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.integration.operator_support import scheduled_job, script_template
from tests.support import Kubectl, KubectlError, eventually

TENANT_ROLES = Path(__file__).resolve().parents[2] / "config" / "rbac" / "tenant-roles.yaml"
ROLE_NAMES = ("almanac-view", "almanac-edit", "almanac-admin")
AGGREGATION = 60.0


@dataclass(frozen=True)
class Tenancy:
    admin: Kubectl
    a: str  # alice edits and bob views here
    b: str  # nobody is bound here


def bind(k: Kubectl, namespace: str, user: str, cluster_role: str) -> None:
    k.apply(
        {
            "apiVersion": "rbac.authorization.k8s.io/v1",
            "kind": "RoleBinding",
            "metadata": {"name": f"{user}-{cluster_role}", "namespace": namespace},
            "roleRef": {
                "apiGroup": "rbac.authorization.k8s.io",
                "kind": "ClusterRole",
                "name": cluster_role,
            },
            "subjects": [{"apiGroup": "rbac.authorization.k8s.io", "kind": "User", "name": user}],
        }
    )


@pytest.fixture(scope="module")
def tenancy(crds: Kubectl) -> Iterator[Tenancy]:
    """The tenant roles applied, namespaces A and B, alice bound to `edit` and bob to
    `view` in A only. Roles that existed before (a chart release) are left in place."""
    crds.run("wait", "--for=condition=Established", "--timeout=60s", "crd/runrequests.almanac.dev")
    existing = {
        name
        for name in ROLE_NAMES
        if crds.run("get", "clusterrole", name, "--ignore-not-found").strip()
    }
    suffix = uuid.uuid4().hex[:8]
    a, b = f"t-tenant-a-{suffix}", f"t-tenant-b-{suffix}"
    try:
        crds.run("apply", "-f", str(TENANT_ROLES))
        for name in (a, b):
            crds.apply({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name}})
        # The ScheduledJobs below name it: an admission webhook, if registered, checks that.
        crds.in_namespace(a).apply(script_template())
        bind(crds, a, "alice", "edit")
        bind(crds, a, "bob", "view")
        yield Tenancy(crds, a, b)
    finally:
        for name in (a, b):
            crds.run("delete", "namespace", name, "--ignore-not-found", "--wait=false")
        for name in set(ROLE_NAMES) - existing:
            crds.run("delete", "clusterrole", name, "--ignore-not-found")


def can_i(k: Kubectl, user: str, verb: str, resource: str, namespace: str) -> bool:
    try:
        k.run("auth", "can-i", verb, resource, "-n", namespace, f"--as={user}")
    except KubectlError as exc:
        if exc.stderr.strip():  # "no" is exit 1 and says nothing on stderr
            raise
        return False
    return True


async def allowed(k: Kubectl, user: str, verb: str, resource: str, namespace: str) -> None:
    """The control: wait until the aggregation controller has given ``user`` this right."""
    await eventually(
        lambda: can_i(k, user, verb, resource, namespace),
        timeout=AGGREGATION,
        what=f"{user} allowed to {verb} {resource} in {namespace}",
    )


def create(k: Kubectl, namespace: str, name: str, *as_user: str) -> str:
    """A real ScheduledJob create (``--as=<user>`` in ``as_user``), not just a question."""
    manifest = scheduled_job(name, schedule={"every": "1h"})
    return k.run("create", "-n", namespace, *as_user, "-f", "-", stdin=json.dumps(manifest))


async def test_an_editor_creates_scheduledjobs_where_bound_and_is_forbidden_elsewhere(
    tenancy: Tenancy,
) -> None:
    k = tenancy.admin
    await allowed(k, "alice", "create", "scheduledjobs.almanac.dev", tenancy.a)
    assert "created" in create(k, tenancy.a, "alices", "--as=alice")
    assert not can_i(k, "alice", "create", "scheduledjobs.almanac.dev", tenancy.b)
    with pytest.raises(KubectlError) as refused:
        create(k, tenancy.b, "alices", "--as=alice")
    assert "Forbidden" in refused.value.stderr
    assert 'User "alice" cannot create resource "scheduledjobs"' in refused.value.stderr


async def test_an_editor_cannot_create_runrequests_in_their_own_namespace(
    tenancy: Tenancy,
) -> None:
    k = tenancy.admin
    await allowed(k, "alice", "create", "jobtemplates.almanac.dev", tenancy.a)
    assert can_i(k, "alice", "list", "runrequests.almanac.dev", tenancy.a)
    assert not can_i(k, "alice", "create", "runrequests.almanac.dev", tenancy.a)


async def test_a_viewer_lists_scheduledjobs_but_is_forbidden_to_delete_them(
    tenancy: Tenancy,
) -> None:
    k = tenancy.admin
    await allowed(k, "bob", "list", "scheduledjobs.almanac.dev", tenancy.a)
    assert not can_i(k, "bob", "delete", "scheduledjobs.almanac.dev", tenancy.a)
    create(k, tenancy.a, "bobs")
    with pytest.raises(KubectlError) as refused:
        k.run("delete", "scheduledjob", "bobs", "-n", tenancy.a, "--as=bob")
    assert 'User "bob" cannot delete resource "scheduledjobs"' in refused.value.stderr
