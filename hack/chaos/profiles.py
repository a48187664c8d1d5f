"""The chaos suite's workloads and fault schedules.

Workloads whose ground truth the schedule alone gives: ``Allow`` jobs every 5 s (every
slot runs once, caught up after a takeover), ``Forbid`` jobs whose runs outlast their
interval (never two at once; skipped slots are allowed), and ``maxRuns: 4`` jobs (exactly
four runs). Faults: the Lease holder SIGKILLed on a period and restarted at once under a
new identity, the Lease holder frozen past its Lease, an API-server restart, and in the
long profile the controller-manager, Postgres and Kafka stopped and started and Postgres
black-holed (hanging, not refusing).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Final

__all__ = ["PROFILES", "SCRIPT", "Fault", "Profile", "workloads"]

EVERY: Final = "5s"
#: The highest history limits: no Job of a short run is pruned, and the ledger's watch
#: keeps those a long run prunes after about 500 s.
KEEP_ALL: Final = {"successfulJobs": 100, "failedJobs": 100}
#: The run: sleep ``seconds`` (params), then succeed.
SCRIPT: Final = (
    "import json, os, time; time.sleep(json.loads(os.environ['ALMANAC_PARAMS']).get('seconds', 0))"
)


@dataclass(frozen=True)
class Fault:
    """At ``at`` seconds into the run: ``kill`` the leader, ``freeze`` it (SIGSTOP, SIGCONT
    ``lasting`` seconds later: past its Lease, so it must resume fenced and exit), ``hang``
    Postgres for ``lasting`` seconds (black-holed: every process stopped), or
    ``hack/stack <verb> <what>``."""

    at: float
    verb: str  # "kill", "freeze", "hang", "restart", "stop", "start"
    component: str = ""
    lasting: float = 0.0


@dataclass(frozen=True)
class Profile:
    duration: float
    faults: tuple[Fault, ...]
    allow: int = 3
    forbid: int = 2
    max_runs: int = 2


def _kills(every: float, until: float, start: float = 10.0) -> tuple[Fault, ...]:
    count = int((until - start) // every) + 1
    return tuple(Fault(start + i * every, "kill") for i in range(count))


PROFILES: Final[dict[str, Profile]] = {
    # CI, about four minutes: four leader kills, one API-server restart, one leader frozen
    # for 15 s (past its 10 s Lease).
    "short": Profile(
        duration=120.0,
        faults=(
            *_kills(20.0, 50.0),
            Fault(65.0, "restart", "kube-apiserver"),
            Fault(85.0, "freeze", lasting=15.0),
            Fault(110.0, "kill"),
        ),
    ),
    # By hand: ten minutes, a kill every 10 s, and every stateful component interrupted.
    "long": Profile(
        duration=600.0,
        allow=5,
        forbid=3,
        max_runs=3,
        faults=tuple(
            sorted(
                (
                    *(k for k in _kills(10.0, 590.0) if not 150 <= k.at <= 170),
                    Fault(150.0, "freeze", lasting=20.0),
                    Fault(95.0, "restart", "kube-apiserver"),
                    Fault(185.0, "stop", "kube-controller-manager"),
                    Fault(215.0, "start", "kube-controller-manager"),
                    Fault(275.0, "stop", "postgres"),
                    Fault(335.0, "start", "postgres"),
                    Fault(395.0, "stop", "kafka"),
                    Fault(425.0, "start", "kafka"),
                    Fault(455.0, "hang", "postgres", lasting=45.0),
                ),
                key=lambda f: f.at,
            )
        ),
    ),
}


def _scheduled_job(name: str, **spec: Any) -> dict[str, Any]:
    return {
        "apiVersion": "almanac.dev/v1alpha1",
        "kind": "ScheduledJob",
        "metadata": {"name": name},
        "spec": {"template": "chaos-script", "params": {}, "history": KEEP_ALL, **spec},
    }


def workloads(profile: Profile) -> list[dict[str, Any]]:
    """The ScheduledJobs of one run."""
    every = {"every": EVERY}
    jobs = [
        _scheduled_job(
            f"allow-{i}",
            schedule=every,
            overlapPolicy="Allow",
            catchUp={"window": "1m", "maxRuns": 20},
        )
        for i in range(1, profile.allow + 1)
    ]
    jobs += [
        _scheduled_job(f"forbid-{i}", schedule=every, overlapPolicy="Forbid", params={"seconds": 7})
        for i in range(1, profile.forbid + 1)
    ]
    jobs += [
        _scheduled_job(
            f"max-{i}",
            schedule=every | {"maxRuns": 4},
            overlapPolicy="Allow",
            catchUp={"window": "1m", "maxRuns": 20},
        )
        for i in range(1, profile.max_runs + 1)
    ]
    return jobs
