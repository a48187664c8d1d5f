"""``run``, ``suspend``, ``resume``, ``retry`` and ``backfill`` as the user, through the
annotations the operator honours (no RunRequest: the webhook keeps those to the operator
and the facade)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from tests.integration.cli.conftest import Cli, say_job
from tests.integration.operator_support import almanac_jobs, condition, status
from tests.support import Kubectl, consistently, eventually


def _manual(k: Kubectl, name: str) -> list[dict[str, Any]]:
    return [
        j
        for j in almanac_jobs(k, name)
        if j["metadata"]["labels"]["almanac.dev/trigger"] == "manual"
    ]


async def test_run_makes_a_key_up_and_a_given_key_runs_once(k: Kubectl, cli: Cli) -> None:
    k.apply(say_job("now"))
    answer = cli.ok("run", "now")
    assert answer.startswith("scheduledjob.almanac.dev/now run requested (key ")
    await eventually(lambda: len(_manual(k, "now")) == 1 or None, timeout=90, what="a run")
    cli.ok("run", "now", "--key", "release-42")
    await eventually(lambda: len(_manual(k, "now")) == 2 or None, timeout=90, what="2nd run")
    cli.ok("run", "now", "--key", "release-42")  # the same key: nothing new
    await consistently(lambda: len(_manual(k, "now")) == 2, duration=10, what="no third run")


async def test_suspend_and_resume_by_name_and_by_selector(k: Kubectl, cli: Cli) -> None:
    k.apply(say_job("one"), say_job("two"))
    assert cli.ok("suspend", "one", "--reason", "quarter-end freeze") == (
        "scheduledjob.almanac.dev/one suspended\n"
    )
    assert k.get("scheduledjob", "one")["spec"]["suspend"] is True
    await eventually(
        lambda: (condition(k, "one", "Ready") or {}).get("message") == "quarter-end freeze" or None,
        timeout=60,
        what="the reason in Ready",
    )
    cli.ok("suspend", "-l", "suite=cli")
    assert k.get("scheduledjob", "two")["spec"]["suspend"] is True
    cli.ok("resume", "-l", "suite=cli")
    resumed = k.get("scheduledjob", "one")
    assert resumed["spec"]["suspend"] is False
    assert "almanac.dev/suspend-reason" not in resumed["metadata"].get("annotations", {})
    assert cli("suspend", "-l", "suite=nothing").returncode == 1


async def test_retry_of_a_failed_run_starts_attempt_two(k: Kubectl, cli: Cli) -> None:
    k.apply(say_job("flaky", params={"exit": 1}))
    cli.ok("run", "flaky")
    await eventually(
        lambda: (status(k, "flaky").get("lastRun") or {}).get("phase") == "Failed" or None,
        timeout=120,
        what="a failed run",
    )
    failed = status(k, "flaky")["lastRun"]["job"]
    assert cli.ok("retry", failed).startswith(f"{failed} retry requested")

    def retried() -> bool | None:
        attempts = [
            j["metadata"]["labels"]["almanac.dev/attempt"] for j in almanac_jobs(k, "flaky")
        ]
        return "2" in attempts or None

    await eventually(retried, timeout=90, what="attempt 2")
    not_a_run = cli("retry", "no-such-run")
    assert not_a_run.returncode == 1
    assert "not found" in not_a_run.stderr


def _backfills(k: Kubectl, name: str) -> list[dict[str, Any]]:
    jobs = almanac_jobs(k, name)
    return [j for j in jobs if j["metadata"]["labels"]["almanac.dev/trigger"] == "backfill"]


async def test_backfill_without_the_facade_goes_through_the_annotation(
    k: Kubectl, cli: Cli
) -> None:
    # Four runs are kept: the default history limit (3 succeeded Jobs) would prune one.
    k.apply(
        say_job(
            "past",
            schedule={"cron": "0 * * * *"},
            overlapPolicy="Allow",
            history={"successfulJobs": 10},
        )
    )
    await eventually(lambda: status(k, "past").get("nextRunTime"), timeout=60, what="a status")
    top = datetime.now(UTC).replace(minute=0, second=0, microsecond=0)
    start, end = (top - timedelta(hours=3)).isoformat(), (top - timedelta(hours=2)).isoformat()
    lines = cli.ok("backfill", "past", "--start", start, "--end", end).splitlines()
    assert lines[0] == "scheduledjob.almanac.dev/past backfill requested: 2 run(s)"
    await eventually(
        lambda: (
            sorted(j["metadata"]["name"] for j in _backfills(k, "past")) == sorted(lines[1:])
            or None
        ),
        timeout=90,
        what="the two backfill runs, named as the CLI said",
    )
    older = (top - timedelta(hours=5)).isoformat(), (top - timedelta(hours=4)).isoformat()
    waited = cli.ok(
        "backfill", "past", "--start", older[0], "--end", older[1], "--sequential"
    ).splitlines()
    assert [line.split()[1] for line in waited] == ["Succeeded", "Succeeded"]
    assert len(_backfills(k, "past")) == 4
