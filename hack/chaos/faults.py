"""The chaos suite's faults, each struck on time while the workloads run: the leader
SIGKILLed (a successor started at once), frozen past its Lease or cut off from the API
server (its relay black-holes: requests hang, nothing is refused), Postgres black-holed,
the facade SIGKILLed (another started on its port), a stack component stopped, started
or restarted."""

from __future__ import annotations

import asyncio
import signal
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Final

from hack.chaos.facade import Facade
from hack.chaos.hang import postgres_processes, signal_all
from hack.chaos.ledger import Kill
from hack.chaos.profiles import Fault, Profile
from hack.chaos.recorders import LeaderSampler
from hack.chaos.replicas import Replicas

__all__ = ["LEADER_WAIT", "MIN_TENURE", "Targets", "strike_all"]

#: How long a leader fault waits for a single leader to strike.
LEADER_WAIT: Final = 30.0
#: A leader is struck only once it has led this long: one struck the moment it took over
#: never schedules at all (with kills every 10 s and 10 s takeovers, none would), which
#: tests takeovers but no longer the scheduling between them.
MIN_TENURE: Final = 5.0


@dataclass
class Targets:
    """What the faults strike, and how they say so; ``kills`` collects the leader faults."""

    replicas: Replicas
    sampler: LeaderSampler
    facade: Facade
    stack: Callable[..., str]
    say: Callable[[str], None]
    kills: list[Kill] = field(default_factory=list)

    async def single_leader(self) -> str | None:
        """The one replica leading now, and for ``MIN_TENURE`` at least, waiting up to
        ``LEADER_WAIT`` for one (a fault right after a takeover or an API-server restart
        would otherwise find none and be lost)."""
        deadline = time.monotonic() + LEADER_WAIT
        while time.monotonic() < deadline:
            leader = self.sampler.leader()
            led = self.sampler.tenure() >= MIN_TENURE
            if leader is not None and led and leader in dict(self.replicas.ports()):
                return leader
            await asyncio.sleep(0.5)
        return None


async def _hang_postgres(fault: Fault, say: Callable[[str], None]) -> None:
    pids = postgres_processes()
    signal_all(pids, signal.SIGSTOP)
    say(f"Postgres black-holed ({len(pids)} processes stopped) for {fault.lasting:.0f} s")
    try:
        await asyncio.sleep(fault.lasting)
    finally:
        signal_all(pids, signal.SIGCONT)
    say("Postgres answers again")


async def _strike_leader(fault: Fault, targets: Targets) -> None:
    leader = await targets.single_leader()
    if leader is None:
        targets.say(
            f"{fault.verb}: no leader of {MIN_TENURE:.0f} s within {LEADER_WAIT:.0f} s, skipped"
        )
        return
    targets.kills.append(Kill(time.monotonic(), leader))
    replicas = targets.replicas
    if fault.verb == "partition":
        relay = replicas.partition(leader)
        relay.cut()
        targets.say(f"{leader} (the leader) cut off from the API server for {fault.lasting:.0f} s")
        await asyncio.sleep(fault.lasting)
        relay.heal()
        targets.say(f"{leader}'s way to the API server healed: it must have stopped leading")
        return
    if fault.verb == "freeze":
        replicas.freeze(leader)
        targets.say(f"SIGSTOP {leader} (the leader) for {fault.lasting:.0f} s")
        await asyncio.sleep(fault.lasting)
        replicas.thaw(leader)
        targets.say(f"SIGCONT {leader}: it must find its writes fenced and exit")
        return
    successor = replicas.kill(leader)
    targets.say(f"SIGKILL {leader} (the leader); {successor} started")


async def _strike(fault: Fault, targets: Targets) -> None:
    if fault.verb == "hang":
        await _hang_postgres(fault, targets.say)
    elif fault.verb in ("kill", "freeze", "partition"):
        await _strike_leader(fault, targets)
    elif fault.verb == "facade":
        targets.facade.kill()
        targets.say("SIGKILL the facade; another started on its port")
    elif fault.verb == "outage":
        targets.say(f"stop {fault.component} for {fault.lasting:.0f} s")
        await asyncio.to_thread(targets.stack, "stop", fault.component)
        await asyncio.sleep(fault.lasting)
        await asyncio.to_thread(targets.stack, "start", fault.component)
        targets.say(f"{fault.component} started again")
    else:
        targets.say(f"{fault.verb} {fault.component}")
        await asyncio.to_thread(targets.stack, fault.verb, fault.component)


async def strike_all(profile: Profile, began: float, targets: Targets) -> None:
    """Each fault on time, also while a long one (a freeze, a hang) still lasts."""
    striking = []
    for fault in profile.faults:
        await asyncio.sleep(max(0.0, began + fault.at - time.monotonic()))
        striking.append(asyncio.create_task(_strike(fault, targets)))
    await asyncio.gather(*striking)
