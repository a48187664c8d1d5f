"""The chaos suite's workloads and fault schedules.

Workloads whose ground truth the schedule alone gives: ``Allow`` jobs every 5 s (every
slot runs once, caught up after a takeover), ``Forbid`` jobs whose runs outlast their
interval (never two at once; skipped slots are allowed), and ``maxRuns: 4`` jobs (exactly
four runs); and jobs whose runs are asked for through the facade, each request recorded
with its answer (:mod:`hack.chaos.driver`): run-now and retry, events at once, delayed and
in a cancellable sequence, and an ``after`` chain. Faults: the Lease holder SIGKILLed on a
period and restarted at once under a new identity, the Lease holder frozen past its Lease,
an API-server restart, the facade SIGKILLed, and in the long profile a 30 s API-server
outage, the controller-manager, Postgres and Kafka stopped and started and Postgres
black-holed (hanging, not refusing).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Final

__all__ = ["PROFILES", "SCRIPT", "Fault", "Profile", "workloads"]

EVERY: Final = "5s"
#: The trigger topic the facade publishes ``POST /events`` on.
TRIGGER_TOPIC: Final = "almanac.triggers"
#: The ``event-delay`` job's delay and the ``event-seq`` job's steps.
EVENT_DELAY: Final = 15
SEQUENCE: Final = ("0s", "20s")
#: The ScheduledJobs that run on a schedule (suspended at the stop); the rest run when
#: asked (run-now, events, ``after``) and are left to finish what was asked.
SCHEDULED: Final = ("allow-", "forbid-", "max-")
#: The highest history limits: no Job of a short run is pruned, and the ledger's watch
#: keeps those a long run prunes after about 500 s.
KEEP_ALL: Final = {"successfulJobs": 100, "failedJobs": 100}
#: The run: report to the execution ledger (its URL the first argument; a run that cannot
#: report fails, so it is counted), sleep ``seconds`` (params), then succeed.
SCRIPT: Final = """
import json, os, socket, sys, time, urllib.request
for attempt in range(30):
    try:
        report = f"{os.environ['ALMANAC_RUN']} {socket.gethostname()}".encode()
        urllib.request.urlopen(sys.argv[1], data=report, timeout=5)
        break
    except OSError:
        time.sleep(1)
else:
    sys.exit("the execution ledger did not answer")
time.sleep(json.loads(os.environ["ALMANAC_PARAMS"]).get("seconds", 0))
"""


@dataclass(frozen=True)
class Fault:
    """At ``at`` seconds into the run: ``kill`` the leader, ``freeze`` it (SIGSTOP, SIGCONT
    ``lasting`` seconds later: past its Lease, so it must resume fenced and exit),
    ``partition`` it from the API server for ``lasting`` seconds, ``hang``
    Postgres for ``lasting`` seconds (black-holed: every process stopped), SIGKILL the
    ``facade``, an ``outage`` of a component (stopped ``lasting`` seconds), or
    ``hack/stack <verb> <what>``."""

    at: float
    verb: (
        str  # "kill", "freeze", "partition", "hang", "facade", "outage", "restart", "stop", "start"
    )
    component: str = ""
    lasting: float = 0.0


@dataclass(frozen=True)
class Profile:
    duration: float
    faults: tuple[Fault, ...]
    allow: int = 3
    forbid: int = 2
    max_runs: int = 2
    #: Seconds between the caller's requests (:mod:`hack.chaos.driver`).
    beat: float = 2.0


def _kills(every: float, until: float, start: float = 10.0) -> tuple[Fault, ...]:
    count = int((until - start) // every) + 1
    return tuple(Fault(start + i * every, "kill") for i in range(count))


PROFILES: Final[dict[str, Profile]] = {
    # CI, about four minutes: four leader kills, one API-server restart, the leader frozen
    # for 15 s (past its 10 s Lease), then cut off from the API server for 15 s, the facade
    # killed twice.
    "short": Profile(
        duration=150.0,
        faults=(
            *_kills(20.0, 50.0),
            Fault(40.0, "facade"),
            Fault(65.0, "restart", "kube-apiserver"),
            Fault(85.0, "freeze", lasting=15.0),
            Fault(100.0, "facade"),
            Fault(110.0, "kill"),
            Fault(125.0, "partition", lasting=15.0),
        ),
    ),
    # By hand: ten minutes, a kill every 10 s, the leader partitioned and frozen, the facade
    # killed four times and every stateful component interrupted.
    # The node (2 cores) must keep up for ten minutes: about 60 runs a minute, not the short
    # profile's 100 (at 5 Allow jobs and a request every 2 s the pods fell behind, the
    # load average passed 30 and leaders lost the Lease on their first renewal).
    "long": Profile(
        duration=600.0,
        allow=2,
        forbid=2,
        max_runs=2,
        beat=4.0,
        faults=tuple(
            sorted(
                (
                    *(
                        k
                        for k in _kills(10.0, 590.0)
                        if not (120 <= k.at <= 140 or 150 <= k.at <= 170)
                    ),
                    Fault(120.0, "partition", lasting=20.0),
                    *(Fault(at, "facade") for at in (60.0, 240.0, 380.0, 545.0)),
                    Fault(515.0, "outage", "kube-apiserver", lasting=30.0),
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


def _on(kind: str) -> dict[str, Any]:
    """A Kafka source for the facade's events of type ``chaos.<kind>``, keyed by ``data.k``."""
    filter_ = f'event.type == "chaos.{kind}"'
    return {"kafka": {"topic": TRIGGER_TOPIC, "filter": filter_, "key": "event.data.k"}}


def asked_workloads() -> list[dict[str, Any]]:
    """Jobs that run when asked: run-now and retry requests (``manual-1``, whose schedule
    does not fire during a run), the facade's events (at once, delayed, a two-step sequence
    with cancels) and an ``after`` chain on ``allow-1``."""
    return [
        _scheduled_job("manual-1", schedule={"cron": "0 0 1 1 *"}),
        _scheduled_job("event-now", triggers=[{"name": "now", **_on("now")}]),
        _scheduled_job(
            "event-delay", triggers=[{"name": "delay", **_on("delay"), "delay": f"{EVENT_DELAY}s"}]
        ),
        _scheduled_job(
            "event-seq",
            triggers=[
                {
                    "name": "seq",
                    **_on("seq"),
                    "sequence": list(SEQUENCE),
                    "cancelOn": [_on("cancel")],
                }
            ],
        ),
        _scheduled_job(
            "chain-1", triggers=[{"after": {"scheduledJob": "allow-1", "result": "Succeeded"}}]
        ),
    ]


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
    return jobs + asked_workloads()
