"""``render`` prints the operator's own Job (``build_job``), and the history sources read
runs alike whichever answers."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import yaml

from almanac.cli.errors import SetupError
from almanac.cli.offline import PLACEHOLDER_UID
from almanac.cli.sources import HistorySettings, facade_run, facade_states, jobs_as_runs
from almanac.core.resource import parse_scheduled_job
from almanac.core.runs import DEFAULT_IMAGE, RunRequest, build_job, builtin_template
from almanac.core.status import TriggerKind
from almanac.templates import builtin_params_schema
from tests.unit.cli.support import almanac_cli

SLOT = datetime(2027, 1, 1, 2, 0, tzinfo=UTC)
MANIFEST: dict[str, Any] = {
    "apiVersion": "almanac.dev/v1alpha1",
    "kind": "ScheduledJob",
    "metadata": {"name": "nightly", "namespace": "team-a"},
    "spec": {
        "template": "command",
        "schedule": {"cron": "0 2 * * *"},
        "params": {"command": ["echo", "hi"]},
    },
}


def _operators_job(uid: str = PLACEHOLDER_UID) -> dict[str, Any]:
    return build_job(
        name="nightly",
        namespace="team-a",
        uid=uid,
        spec=parse_scheduled_job(MANIFEST).spec,
        run=RunRequest(SLOT, TriggerKind.SCHEDULE),
        template=builtin_template("command", DEFAULT_IMAGE, builtin_params_schema("command")),
    )


def test_render_prints_the_job_the_operator_builds(tmp_path: Path) -> None:
    path = tmp_path / "job.yaml"
    path.write_text(yaml.safe_dump(MANIFEST))
    result = almanac_cli(
        "render", "-f", str(path), "--slot", "2027-01-01T02:00:00Z", "-o", "json",
        env={"ALMANAC_IMAGE": DEFAULT_IMAGE},
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout) == json.loads(json.dumps(_operators_job()))


def test_render_of_a_template_nowhere_exits_2_naming_spec_template(tmp_path: Path) -> None:
    path = tmp_path / "job.yaml"
    path.write_text(yaml.safe_dump({**MANIFEST, "spec": {**MANIFEST["spec"], "template": "x"}}))
    result = almanac_cli("render", "-f", str(path))
    assert result.returncode == 2
    assert result.stderr.startswith("error: spec.template: no JobTemplate")


def test_the_cluster_s_jobs_read_as_runs_newest_first() -> None:
    older = _operators_job()
    newer = json.loads(json.dumps(older).replace("202701010200", "202701020200"))
    newer["metadata"]["labels"]["almanac.dev/slot"] = str(int(SLOT.timestamp()) + 86400)
    newer["status"] = {
        "startTime": "2027-01-02T02:00:01Z",
        "completionTime": "2027-01-02T02:00:05Z",
        "conditions": [{"type": "Complete", "status": "True"}],
    }
    rows = jobs_as_runs([older, newer, {"metadata": {"name": "not-ours"}}])
    assert [(r.name, r.phase) for r in rows] == [
        (newer["metadata"]["name"], "Succeeded"),
        (older["metadata"]["name"], "Pending"),
    ]


def test_a_facade_without_an_identity_is_a_setup_error_naming_the_flag() -> None:
    settings = HistorySettings.from_args("http://facade", None, env={})
    with pytest.raises(SetupError) as caught:
        settings.facade()
    assert caught.value.field == "--identity"
    assert HistorySettings.from_args(None, None, env={}).facade() is None


def test_the_facade_s_status_words_read_as_the_history_s_states() -> None:
    states = facade_states()
    assert states["completed"] == "Succeeded"
    assert states["running"] == "Running"
    assert states["dead_lettered"] == "DeadLettered"
    row = facade_run(
        {"id": "r", "status": "timeout", "slot": "2027-01-01T02:00:00Z", "trigger": "schedule",
         "attempt": 1, "start_time": None, "end_time": None, "error_message": "deadline"},
        states,
    )  # fmt: skip
    assert (row.phase, row.message) == ("Timeout", "deadline")
