"""Through the REST facade (``--api`` and an identity): ``backfill`` (also ``--sequential``),
``run`` and ``runs``; the operator launches what the facade stored."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from almanac.api import BASE_PATH, encode_identity
from tests.integration.api.conftest import FacadeProcess, Org
from tests.integration.cli.conftest import Cli
from tests.support import Kubectl, eventually
from tests.support.operator import OperatorProcess


def _facade_cli(kubectl: Kubectl, org: Org, facade: FacadeProcess) -> tuple[Cli, list[str]]:
    flags = ["--api", f"{facade.url}{BASE_PATH}", "--identity", encode_identity(org.org_id)]
    return Cli(kubectl.kubeconfig, org.namespace), flags


def _runs(org: Org, job: dict[str, Any], trigger: str) -> list[dict[str, Any]]:
    jobs = org.kubectl.list("jobs", f"almanac.dev/scheduledjob-uid={job['id']}")
    return [j for j in jobs if j["metadata"]["labels"]["almanac.dev/trigger"] == trigger]


async def test_backfill_and_run_through_the_facade(
    kubectl: Kubectl, operator: OperatorProcess, org: Org, facade: FacadeProcess
) -> None:
    job = org.create(schedule="0 * * * *")
    cli, flags = _facade_cli(kubectl, org, facade)
    top = datetime.now(UTC).replace(minute=0, second=0, microsecond=0)
    start, end = (top - timedelta(hours=2)).isoformat(), (top - timedelta(hours=1)).isoformat()
    answer = cli.ok("backfill", job["resource_name"], "--start", start, "--end", end, *flags)
    assert answer.splitlines()[0].endswith("backfill requested: 2 run(s)")
    await eventually(lambda: len(_runs(org, job, "backfill")) == 2 or None, timeout=90,
                     what="2 backfill runs")  # fmt: skip
    ran = cli.ok("run", job["resource_name"], "--key", "k-1", *flags)
    run_id = ran.split("run requested: ")[1].split()[0]
    await eventually(lambda: any(j["metadata"]["name"] == run_id for j in _runs(org, job, "manual"))
                     or None, timeout=90, what="the run-now")  # fmt: skip

    def listed() -> str | None:
        text = cli.ok("runs", job["resource_name"], *flags)
        return text if run_id in text else None

    assert "backfill" in await eventually(listed, timeout=90, what="runs in the history")


async def test_sequential_backfill_waits_for_each_run(
    kubectl: Kubectl, operator: OperatorProcess, org: Org, facade: FacadeProcess
) -> None:
    job = org.create(schedule="0 * * * *")
    cli, flags = _facade_cli(kubectl, org, facade)
    top = datetime.now(UTC).replace(minute=0, second=0, microsecond=0)
    start, end = (top - timedelta(hours=4)).isoformat(), (top - timedelta(hours=3)).isoformat()
    lines = cli.ok(
        "backfill", job["resource_name"], "--start", start, "--end", end, "--sequential", *flags
    ).splitlines()
    assert [line.split()[1] for line in lines] == ["Succeeded", "Succeeded"]
    assert len(_runs(org, job, "backfill")) == 2
