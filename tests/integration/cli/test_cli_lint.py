"""``almanac lint`` refuses offline what the real admission webhook refuses at apply,
naming the same field (both run :mod:`almanac.core.admission`)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.integration.admission import refusal
from tests.integration.cli.conftest import Cli
from tests.support import Kubectl

BAD: dict[str, tuple[dict[str, Any], str]] = {
    "cron-out-of-range": ({"schedule": {"cron": "61 * * * *"}}, "spec.schedule.cron"),
    "unknown-zone": ({"schedule": {"cron": "0 2 * * *", "timeZone": "Mars/Base"}},
                     "spec.schedule.timeZone"),
    "never-fires": ({"schedule": {"cron": "0 0 31 2 *"}}, "spec.schedule.cron"),
    "bad-params": ({"schedule": {"cron": "0 2 * * *"}, "params": {"command": 5}},
                   "spec.params.command"),
}  # fmt: skip


CRON = {"cron": "0 2 * * *"}


def _job(name: str, spec: dict[str, Any]) -> dict[str, Any]:
    return {
        "apiVersion": "almanac.dev/v1alpha1",
        "kind": "ScheduledJob",
        "metadata": {"name": name},
        "spec": {"template": "command", "params": {"command": ["true"]}, **spec},
    }


@pytest.mark.parametrize("name", sorted(BAD))
async def test_lint_and_the_webhook_refuse_the_same_manifest_naming_the_field(
    guarded: Kubectl,
    namespace: str,
    tmp_path: Path,
    name: str,
) -> None:
    spec, field = BAD[name]
    manifest = _job(name, spec)
    path = tmp_path / f"{name}.yaml"
    path.write_text(yaml.safe_dump(manifest))
    linted = Cli(guarded.kubeconfig, namespace)("lint", "-f", str(path), cluster=False)
    assert linted.returncode == 2
    assert f"ScheduledJob/{name}: {field}: " in linted.stderr
    assert field in await refusal(guarded, manifest)


async def test_lint_with_the_cluster_reads_its_templates(
    k: Kubectl, cli: Cli, tmp_path: Path
) -> None:
    k.apply(
        {
            "apiVersion": "almanac.dev/v1alpha1",
            "kind": "JobTemplate",
            "metadata": {"name": "strict"},
            "spec": {
                "image": "busybox",
                "paramsSchema": {"type": "object", "required": ["day"]},
            },
        }
    )
    strict = _job("strict-job", {"template": "strict", "params": {}})
    path = tmp_path / "job.yaml"
    path.write_text(yaml.safe_dump(strict | {"spec": strict["spec"] | {"schedule": CRON}}))
    offline = cli("lint", "-f", str(path), cluster=False)
    assert offline.returncode == 0, offline.stderr  # the template is not in the files
    online = cli("lint", "-f", str(path), "--cluster")
    assert online.returncode == 2
    assert "spec.params.day" in online.stderr
