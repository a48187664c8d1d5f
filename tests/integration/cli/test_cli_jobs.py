"""``get``, ``describe``, ``render``, ``preview`` and ``--version`` against the real stack."""

from __future__ import annotations

import json

import yaml

from tests.integration.cli.conftest import Cli, say_job
from tests.integration.operator_support import almanac_jobs, status
from tests.support import Kubectl, eventually


async def _ran_once(k: Kubectl, cli: Cli, name: str) -> None:
    cli.ok("run", name, "--key", "first")
    await eventually(
        lambda: (status(k, name).get("lastRun") or {}).get("phase") == "Succeeded" or None,
        timeout=120,
        what=f"a finished run of {name}",
    )


async def test_get_lists_the_printer_columns_and_wide_json_yaml(k: Kubectl, cli: Cli) -> None:
    k.apply(say_job("alpha"), say_job("beta"))
    await eventually(lambda: status(k, "beta").get("nextRunTime"), timeout=60, what="a status")
    lines = cli.ok("get").splitlines()
    assert lines[0].split()[:4] == ["NAME", "SCHEDULE", "TZ", "SUSPEND"]
    assert "LAST RESULT" in lines[0]
    assert [line.split()[0] for line in lines[1:]] == ["alpha", "beta"]
    header, row, _ = cli.ok("get", "-o", "wide").splitlines()
    assert header.split()[-5:] == ["TEMPLATE", "QUEUED", "LAST", "SUCCESS", "MESSAGE"]
    assert row[header.index("TEMPLATE") :].split()[0] == "say"  # columns are aligned
    assert json.loads(cli.ok("get", "alpha", "-o", "json"))["metadata"]["name"] == "alpha"
    listed = yaml.safe_load(cli.ok("get", "-l", "suite=cli", "-o", "yaml"))
    assert [o["metadata"]["name"] for o in listed["items"]] == ["alpha", "beta"]
    missing = cli("get", "nope")
    assert missing.returncode == 1
    assert "not found" in missing.stderr


async def test_describe_shows_next_slots_last_runs_and_events(k: Kubectl, cli: Cli) -> None:
    k.apply(say_job("gamma"))
    await _ran_once(k, cli, "gamma")
    text = cli.ok("describe", "gamma")
    assert "Ready:          True (Scheduled)" in text
    assert "Last Result:    Succeeded" in text
    slots_shown = text.split("Next Slots:\n")[1].split("Last Runs")[0].splitlines()
    preview = cli("preview", "--cron", "0 0 1 1 *", "--count", "5", cluster=False)
    assert preview.returncode == 0, preview.stderr
    assert [s.strip() for s in slots_shown] == preview.stdout.split()  # yearly: same now
    (run,) = almanac_jobs(k, "gamma")
    assert "Last Runs (the Jobs left in the cluster" in text
    assert run["metadata"]["name"] in text
    assert "RunNow" in text.split("Events:")[1]


async def test_render_prints_the_job_the_operator_created(k: Kubectl, cli: Cli) -> None:
    k.apply(say_job("delta", params={"say": "rendered"}))
    await _ran_once(k, cli, "delta")
    (created,) = almanac_jobs(k, "delta")
    slot = created["metadata"]["annotations"]["almanac.dev/scheduled-time"]
    rendered = yaml.safe_load(cli.ok("render", "delta", "--slot", slot))
    run, wanted = rendered["spec"]["template"]["spec"], created["spec"]["template"]["spec"]
    assert run["containers"][0]["image"] == wanted["containers"][0]["image"]
    assert run["containers"][0]["command"] == wanted["containers"][0]["command"]
    params = {e["name"]: e.get("value") for e in run["containers"][0]["env"]}
    assert json.loads(params["ALMANAC_PARAMS"]) == {"say": "rendered"}


def test_version_and_preview_need_no_cluster(cli: Cli) -> None:
    version = cli("--version", cluster=False)
    assert version.returncode == 0
    assert version.stdout.startswith("almanac ")
    preview = cli("preview", "--every", "1h", "--from", "2026-01-01T00:00:00Z", "--count", "2",
                  cluster=False)  # fmt: skip
    assert preview.stdout.split() == ["2026-01-01T01:00:00Z", "2026-01-01T02:00:00Z"]
