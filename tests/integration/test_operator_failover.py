"""Two replicas under one Lease: a killed leader is replaced within 15 s and no slot is
lost or run twice; a clean stop hands the Lease over at once; downtime is caught up."""

from __future__ import annotations

import asyncio
import subprocess
import time
from pathlib import Path

from tests.integration.operator_support import (
    almanac_jobs,
    jobs_at_least,
    scheduled_job,
    script_template,
    slots,
    status,
)
from tests.support import Kubectl, consistently, eventually
from tests.support.operator import OperatorProcess

EVERY = 5
STACK = Path(__file__).resolve().parents[2] / "hack" / "stack"
FAILOVER_LIMIT = 15.0
# Keep every Job, so the test can count them (history limits would prune).
KEEP_ALL = {"successfulJobs": 100, "failedJobs": 100}


async def leads(replica: OperatorProcess, timeout: float = 30) -> None:
    await eventually(
        lambda: "lease acquired" in replica.log_text(),
        timeout=timeout,
        what=f"{replica.identity} leading",
    )


def assert_every_slot_once(slot_list: list[int]) -> None:
    assert len(slot_list) == len(set(slot_list)), f"a slot ran twice: {slot_list}"
    expected = list(range(slot_list[0], slot_list[-1] + EVERY, EVERY))
    assert slot_list == expected, f"slots missing: {sorted(set(expected) - set(slot_list))}"


async def leader_standby_and_every_slot_job(
    k: Kubectl, first: OperatorProcess, second: OperatorProcess, name: str
) -> None:
    """``first`` leads, ``second`` stands by, and a job due every EVERY seconds keeps all
    its Jobs and catches up every missed slot (so gaps would show)."""
    k.apply(script_template())
    first.start()
    await leads(first)
    second.start()
    k.apply(
        scheduled_job(
            name,
            schedule={"every": f"{EVERY}s"},
            overlapPolicy="Allow",
            catchUp={"window": "1m", "maxRuns": 20},
            history=KEEP_ALL,
        )
    )


async def test_killed_leader_is_replaced_without_lost_or_doubled_slots(
    crds: Kubectl, namespace: str, replicas: list[OperatorProcess]
) -> None:
    k = crds.in_namespace(namespace)
    first, second = replicas
    await leader_standby_and_every_slot_job(k, first, second, "steady")
    leader, standby = first, second
    for _round in range(2):
        before = len(almanac_jobs(k, "steady"))
        await jobs_at_least(k, "steady", before + 2)
        killed_at = time.monotonic()
        leader.kill()
        await leads(standby, timeout=FAILOVER_LIMIT + 5)
        count = len(almanac_jobs(k, "steady"))
        await jobs_at_least(k, "steady", count + 1, timeout=FAILOVER_LIMIT + 5)
        took = time.monotonic() - killed_at
        assert took <= FAILOVER_LIMIT + EVERY, f"first launch {took:.1f}s after the kill"
        # The killed replica comes back as the new standby.
        leader.process = None
        leader.start()
        leader, standby = standby, leader
    await jobs_at_least(k, "steady", len(almanac_jobs(k, "steady")) + 1)
    assert_every_slot_once(slots(almanac_jobs(k, "steady")))


async def test_clean_stop_hands_the_lease_over_at_once(
    crds: Kubectl, namespace: str, replicas: list[OperatorProcess]
) -> None:
    first, second = replicas
    first.start()
    await leads(first)
    second.start()
    await consistently(
        lambda: "lease acquired" not in second.log_text(),
        duration=3,
        what="standby waits while the leader renews",
    )
    asked = time.monotonic()
    assert first.stop() == 0
    stopped = time.monotonic()
    # Our tasks end before Kopf's 5 s wait for leftover tasks starts (0.4 s here).
    assert stopped - asked < 3, f"the leader took {stopped - asked:.1f} s to stop"
    await leads(second, timeout=10)
    assert time.monotonic() - stopped < 5
    assert "lease released" in first.log_text()


async def test_downtime_is_caught_up_within_the_window_and_limit(
    crds: Kubectl, namespace: str, replicas: list[OperatorProcess]
) -> None:
    k = crds.in_namespace(namespace)
    k.apply(script_template())
    replica = replicas[0]
    replica.start()
    await leads(replica)
    k.apply(
        scheduled_job(
            "catchup",
            schedule={"every": f"{EVERY}s"},
            overlapPolicy="Allow",
            catchUp={"window": "1m", "maxRuns": 2},
            history=KEEP_ALL,
        )
    )
    await jobs_at_least(k, "catchup", 1)
    assert replica.stop() == 0
    down = slots(almanac_jobs(k, "catchup"))
    skipped_before = status(k, "catchup")["counts"]["skipped"]
    # Four or more slots pass while no operator runs.
    await consistently(
        lambda: slots(almanac_jobs(k, "catchup")) == down,
        duration=4 * EVERY + 1,
        interval=1,
        what="nothing runs while down",
    )
    replica.process = None
    replica.start()
    # At least four slots passed: the newest (still within a minute) runs on time, the
    # two newest of the missed ones run as catch-up, older ones are counted as skipped.
    # The first pass launches all three at once, in any order: wait for the three.
    jobs = await jobs_at_least(k, "catchup", len(down) + 3, timeout=30)
    caught = [j for j in jobs if j["metadata"]["labels"]["almanac.dev/trigger"] == "catchup"]
    assert len(caught) == 2, "catch-up runs the newest maxRuns missed slots"
    assert max(slots(caught)) < max(slots(jobs))
    await eventually(
        lambda: status(k, "catchup")["counts"]["skipped"] >= skipped_before + 1,
        timeout=20,
        what="older missed slots counted as skipped",
    )


def restart_api_server() -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [STACK, "restart", "kube-apiserver"], capture_output=True, text=True, check=False
    )


async def test_api_server_restart_mid_run_loses_and_doubles_nothing(
    crds: Kubectl, namespace: str, replicas: list[OperatorProcess]
) -> None:
    k = crds.in_namespace(namespace)
    first, second = replicas
    await leader_standby_and_every_slot_job(k, first, second, "survivor")
    await jobs_at_least(k, "survivor", 2)
    restarted = await asyncio.to_thread(restart_api_server)
    assert restarted.returncode == 0, restarted.stderr
    count = len(almanac_jobs(k, "survivor"))
    await jobs_at_least(k, "survivor", count + 3, timeout=60)
    assert_every_slot_once(slots(almanac_jobs(k, "survivor")))
