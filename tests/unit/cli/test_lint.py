"""``almanac lint`` refuses what the admission webhook refuses, naming the same field,
because both run :mod:`almanac.core.admission` (asserted below, not just observed)."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest
import yaml

from almanac.cli.manifests import Manifest, TemplateSet, read_manifests
from almanac.cli.offline import lint_manifests
from almanac.core import admission
from almanac.operator import admissionreads, webhook
from tests.unit.cli.support import almanac_cli
from tests.unit.operator.reviews import admission_review, response

GOOD: dict[str, Any] = {
    "template": "command",
    "schedule": {"cron": "0 2 * * *"},
    "params": {"command": ["true"]},
}

#: (case id, spec or a change of GOOD, the field both must name)
BAD_SPECS: list[tuple[str, dict[str, Any], str]] = [
    ("cron minute out of range", {"schedule": {"cron": "61 * * * *"}}, "spec.schedule.cron"),
    ("unknown time zone", {"schedule": {"cron": "0 2 * * *", "timeZone": "Mars/Base"}},
     "spec.schedule.timeZone"),
    ("a field that does not exist", {"schedul": {"cron": "0 2 * * *"}}, "spec.schedul"),
    ("schedule that never fires", {"schedule": {"cron": "0 0 31 2 *"}}, "spec.schedule.cron"),
    ("every with a bad duration", {"schedule": {"every": "ten minutes"}}, "spec.schedule.every"),
    ("message to a reserved topic",
     {"template": "message", "params": {"topic": "almanac.triggers", "value": "x"}},
     "spec.params.topic"),
    ("negative history limit",
     {"history": {"successfulJobs": -1}}, "spec.history.successfulJobs"),
]  # fmt: skip


def _spec(change: dict[str, Any]) -> dict[str, Any]:
    return {**GOOD, **change}


def _manifest(spec: dict[str, Any], name: str = "nightly") -> Manifest:
    body = {
        "apiVersion": "almanac.dev/v1alpha1",
        "kind": "ScheduledJob",
        "metadata": {"name": name, "namespace": "team-a"},
        "spec": spec,
    }
    return Manifest("jobs.yaml", body)


def _lint(*manifests: Manifest) -> list[list[str]]:
    found = asyncio.run(lint_manifests(manifests, "team-a", TemplateSet.of(manifests, "team-a")))
    return [[p.field for p in problems] for _, problems in found]


def test_the_webhook_and_lint_share_one_check() -> None:
    # The webhook's module holds the very functions lint calls, not copies.
    assert vars(webhook)["spec_problems"] is admission.spec_problems
    assert vars(webhook)["chain_problems"] is admission.chain_problems
    assert vars(admissionreads)["template_use_problems"] is admission.template_use_problems


def test_a_good_manifest_passes_both() -> None:
    assert _lint(_manifest(GOOD)) == [[]]
    assert response(admission_review(GOOD))["allowed"] is True


@pytest.mark.parametrize(
    ("change", "field"), [c[1:] for c in BAD_SPECS], ids=[c[0] for c in BAD_SPECS]
)
def test_lint_refuses_what_the_webhook_refuses_naming_the_field(
    change: dict[str, Any], field: str
) -> None:
    spec = _spec(change)
    (lint_fields,) = _lint(_manifest(spec))
    answer = response(admission_review(spec))
    webhook_fields = [c["field"] for c in answer["status"]["details"]["causes"]]
    assert answer["allowed"] is False
    assert field in lint_fields
    assert lint_fields == webhook_fields


def test_params_the_builtin_template_refuses_are_refused_offline() -> None:
    (fields,) = _lint(_manifest(_spec({"params": {"command": 5}})))
    assert "spec.params.command" in fields


def test_params_checked_against_a_template_given_beside_the_job() -> None:
    template = Manifest(
        "templates.yaml",
        {
            "apiVersion": "almanac.dev/v1alpha1",
            "kind": "JobTemplate",
            "metadata": {"name": "report", "namespace": "team-a"},
            "spec": {
                "image": "busybox",
                "paramsSchema": {
                    "type": "object",
                    "required": ["day"],
                    "properties": {"day": {"type": "string"}},
                },
            },
        },
    )
    job = _manifest({"template": "report", "schedule": {"cron": "0 2 * * *"}})
    assert _lint(template, job) == [[], ["spec.params.day"]]


def test_after_triggers_forming_a_cycle_across_files_are_refused() -> None:
    def after(upstream: str) -> dict[str, Any]:
        return {**GOOD, "triggers": [{"name": "up", "after": {"scheduledJob": upstream}}]}

    found = _lint(_manifest(after("b"), "a"), _manifest(after("a"), "b"))
    assert found[1] == ["spec.triggers[0].after.scheduledJob"]


def test_a_template_with_a_bad_params_schema_is_refused() -> None:
    template = Manifest(
        "t.yaml",
        {
            "apiVersion": "almanac.dev/v1alpha1",
            "kind": "ClusterJobTemplate",
            "metadata": {"name": "t"},
            "spec": {"image": "busybox", "paramsSchema": {"type": "no-such-type"}},
        },
    )
    (fields,) = _lint(template)
    assert fields
    assert fields[0].startswith("spec.paramsSchema")


def test_lint_command_exits_2_naming_file_kind_name_and_field(tmp_path: Path) -> None:
    bad = _manifest(_spec(BAD_SPECS[0][1])).body
    other = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c"}}
    path = tmp_path / "jobs.yaml"
    path.write_text(yaml.safe_dump_all([bad, other]))
    result = almanac_cli("lint", "-f", str(tmp_path))
    assert result.returncode == 2
    assert f"{path}#0: ScheduledJob/nightly: spec.schedule.cron:" in result.stderr
    assert "0 of 1 Almanac manifest(s) pass" in result.stderr


def test_lint_command_passes_good_manifests(tmp_path: Path) -> None:
    (tmp_path / "ok.yaml").write_text(yaml.safe_dump(_manifest(GOOD).body))
    result = almanac_cli("lint", "-f", str(tmp_path / "ok.yaml"))
    assert result.returncode == 0, result.stderr
    assert read_manifests([tmp_path])[0].name == "nightly"
