"""Through kubectl too, an export runs as its namespace's organisation: a ScheduledJob whose
export names another organisation is refused at admission naming ``spec.params.orgId``;
the control (its own organisation) is admitted. A namespace that belongs to no organisation
may name none (the facade's REST path is tested in ``api/test_tenancy.py``)."""

from __future__ import annotations

from typing import Any

from tests.integration.admission import apply, refusal
from tests.support import Kubectl


def export(name: str, org_id: str) -> dict[str, Any]:
    return {
        "apiVersion": "almanac.dev/v1alpha1",
        "kind": "ScheduledJob",
        "metadata": {"name": name},
        "spec": {
            "template": "export",
            "schedule": {"cron": "0 2 * * *"},
            "params": {
                "baseUrl": "http://exports.example/api/export/v1",
                "name": "inventory",
                "format": "csv",
                "sources": [{"application": "inventory", "resource": "hosts"}],
                "orgId": org_id,
            },
        },
    }


async def test_an_export_naming_another_organisation_is_refused(
    guarded: Kubectl, crds: Kubectl
) -> None:
    k = guarded
    crds.run("label", "namespace", str(k.namespace), "almanac.dev/org-id=000042")

    refused = await refusal(k, export("steal", "000007"))
    assert "spec.params.orgId: names organisation '000007'" in refused
    assert "set it to '000042'" in refused
    assert k.list("scheduledjobs") == []

    await apply(k, export("own", "000042"))  # the control: its own organisation
    assert [j["metadata"]["name"] for j in k.list("scheduledjobs")] == ["own"]

    crds.run("label", "namespace", str(k.namespace), "almanac.dev/org-id-")
    orphan = await refusal(k, export("orphan", "000042"))
    assert "belongs to no organisation (no almanac.dev/org-id label)" in orphan
