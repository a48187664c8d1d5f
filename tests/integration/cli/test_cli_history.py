"""``runs`` (the cluster's Jobs, or the history database) and ``logs`` (the run's pod)."""

from __future__ import annotations

import json
import os

from almanac.history.errors import DATABASE_URL_VARIABLE
from tests.integration.cli.conftest import Cli, say_job
from tests.integration.operator_support import almanac_jobs, status
from tests.support import Kubectl, eventually


async def _finished(k: Kubectl, name: str) -> str:
    await eventually(
        lambda: (status(k, name).get("lastRun") or {}).get("phase") or None,
        timeout=120,
        what=f"a finished run of {name}",
    )
    return str(status(k, name)["lastRun"]["job"])


async def test_runs_from_the_jobs_then_from_the_history(k: Kubectl, cli: Cli) -> None:
    k.apply(say_job("hist"))
    cli.ok("run", "hist")
    run = await _finished(k, "hist")
    plain = cli("runs", "hist")
    assert plain.returncode == 0, plain.stderr
    assert "# from the Jobs left in the cluster" in plain.stderr
    assert plain.stdout.splitlines()[1].split()[:4] == [run, "Succeeded", "manual", "1"]
    database = {DATABASE_URL_VARIABLE: os.environ[DATABASE_URL_VARIABLE]}

    def recorded() -> list[dict[str, object]] | None:
        rows = json.loads(cli.ok("runs", "hist", "-o", "json", env=database))
        return rows if rows and rows[0]["phase"] == "Succeeded" else None

    (row,) = await eventually(recorded, timeout=60, what="the run in the history")
    assert (row["name"], row["trigger"]) == (run, "manual")


async def test_logs_of_the_newest_run_and_of_a_named_run_following(k: Kubectl, cli: Cli) -> None:
    k.apply(say_job("talk", params={"say": "hello from the run", "seconds": 3}))
    cli.ok("run", "talk", "--key", "a")
    await eventually(lambda: almanac_jobs(k, "talk") or None, timeout=60, what="a Job")
    (job,) = almanac_jobs(k, "talk")
    name = job["metadata"]["name"]

    def running_pod() -> bool | None:
        pods = k.list("pods", f"job-name={name}")
        return any(p["status"].get("phase") in ("Running", "Succeeded") for p in pods) or None

    await eventually(running_pod, timeout=90, what="the run's pod started")
    assert (
        cli.ok("logs", "talk", "--run", name, "-f") == "hello from the run\n"
    )  # waits for the end
    await _finished(k, "talk")
    assert cli.ok("logs", "talk") == "hello from the run\n"
    assert cli("logs", "talk", "--run", "not-a-run").returncode == 1
