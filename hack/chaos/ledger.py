"""The chaos suite's accounting: what the independent recorders saw, checked against what
each workload's schedule says must have happened. Pure: the runner collects, this counts.

Counted after quiescence, per workload:

* **missed**: a slot the schedule had (after the job's creation, before the settle margin
  ahead of the stop) with no Job; for a ``maxRuns`` job, each of its ``maxRuns`` runs
  short (it may run newer slots than its first ones after a takeover, by design);
* **duplicated**: a slot (or, for a ``maxRuns`` job, a run number) launched by more than
  one Job;
* **overlaps**: under ``Forbid``, a Job created while an earlier one of the same job had
  not finished;
* **beyond maxRuns**: slot runs past ``maxRuns``;

and over the run: Lease samples in which two replicas said they led, each kill's
takeover time (from the kill to the first sample with another leader), and the run
history against the Jobs (invariant nothing-lost): a Job with no history row (**lost**), a
row whose phase is not the Job's (**stale**: a finished run still ``Running``), a row
with no Job (**phantom**). A ``Skipped`` row is a slot that did not run, so it has no Job
and is no phantom; a skipped row whose slot's Job exists after all is stale (the run's row
replaces it).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime

__all__ = [
    "HistoryGaps",
    "Kill",
    "Report",
    "RunSeen",
    "Workload",
    "account",
    "history_gaps",
    "takeovers",
]

_SLOT_TRIGGERS = frozenset({"schedule", "catchup"})
#: History phases of a run whose Job has not finished.
_UNFINISHED = frozenset({"Pending", "Running"})


@dataclass(frozen=True)
class Workload:
    """One ScheduledJob of the suite and what its schedule promises."""

    name: str
    policy: str  # "Allow" or "Forbid"
    #: Every slot the schedule had between creation and the settle margin before the stop
    #: (Allow jobs run each; Forbid jobs may skip some while a run is active).
    slots: tuple[datetime, ...]
    max_runs: int | None = None


@dataclass(frozen=True)
class RunSeen:
    """One Job as the suite's own watch saw it."""

    job: str
    scheduledjob: str
    slot: datetime
    trigger: str
    attempt: int
    created: datetime
    finished: datetime | None = None
    #: ``Succeeded`` or ``Failed`` once finished (the Job's conditions).
    outcome: str | None = None
    #: An event run's event id (annotation), sequence step and, for an ``after`` run, the
    #: upstream run (from the event the run was given).
    event_id: str | None = None
    step: int | None = None
    upstream: str | None = None


@dataclass(frozen=True)
class HistoryGaps:
    """The run history checked against the Job ledger."""

    runs: int
    lost: int = 0
    stale: int = 0
    phantom: int = 0

    @property
    def total(self) -> int:
        return self.lost + self.stale + self.phantom


def _agrees(run: RunSeen, phase: str) -> bool:
    """A finished run's row has its outcome; an unfinished run's is pending or running."""
    return phase == run.outcome if run.outcome is not None else phase in _UNFINISHED


def history_gaps(runs: Iterable[RunSeen], rows: Mapping[str, str]) -> HistoryGaps:
    """``rows``: run name to the stored phase, for every history row of the namespace."""
    seen = {r.job: r for r in runs}
    lost = sum(1 for name in seen if name not in rows)
    phantom = sum(1 for name, phase in rows.items() if name not in seen and phase != "Skipped")
    stale = sum(
        1 for name, phase in rows.items() if name in seen and not _agrees(seen[name], phase)
    )
    return HistoryGaps(len(seen), lost, stale, phantom)


@dataclass(frozen=True)
class Kill:
    """One fault that deposed a leader: when, and who led."""

    at: float
    leader: str


@dataclass
class Report:
    """Counts per workload and for the run; ``ok`` only when every loss count is zero."""

    rows: list[tuple[str, int, int, int, int, int]] = field(default_factory=list)
    two_leader_samples: int = 0
    takeover_seconds: list[float] = field(default_factory=list)
    history: HistoryGaps | None = None

    @property
    def losses(self) -> int:
        gaps = self.history.total if self.history else 0
        return sum(sum(row[2:]) for row in self.rows) + self.two_leader_samples + gaps

    @property
    def ok(self) -> bool:
        return self.losses == 0

    def table(self) -> str:
        lines = [
            f"{'workload':24} {'runs':>5} {'missed':>7} {'doubled':>8} {'overlap':>8} "
            f"{'>maxRuns':>9}"
        ]
        lines += [
            f"{name:24} {runs:>5} {missed:>7} {doubled:>8} {overlap:>8} {beyond:>9}"
            for name, runs, missed, doubled, overlap, beyond in self.rows
        ]
        takeovers = ", ".join(f"{s:.1f}" for s in self.takeover_seconds) or "none"
        lines.append(f"samples with two leaders: {self.two_leader_samples}")
        lines.append(f"takeover seconds per kill: {takeovers}")
        if self.history is not None:
            h = self.history
            lines.append(
                f"history rows of {h.runs} runs: lost {h.lost}, stale {h.stale}, "
                f"phantom {h.phantom}"
            )
        lines.append("OK: nothing lost or doubled" if self.ok else f"FAILED: {self.losses} faults")
        return "\n".join(lines)


def _overlaps(runs: Sequence[RunSeen]) -> int:
    """Jobs created while an earlier Job of the same job was unfinished (Forbid)."""
    ordered = sorted(runs, key=lambda r: (r.created, r.job))
    count = 0
    for i, run in enumerate(ordered):
        if any(
            earlier.finished is None or earlier.finished > run.created for earlier in ordered[:i]
        ):
            count += 1
    return count


def _count(workload: Workload, runs: Sequence[RunSeen]) -> tuple[str, int, int, int, int, int]:
    firsts = [r for r in runs if r.trigger in _SLOT_TRIGGERS and r.attempt == 1]
    per_slot = Counter(r.slot for r in firsts)
    doubled = sum(n - 1 for n in per_slot.values() if n > 1)
    missed = 0
    if workload.policy == "Allow" and workload.max_runs is not None:
        # Exactly maxRuns distinct slots (which ones: the newest due when a takeover
        # finds more due than runs left, by design), if the schedule had that many.
        missed = max(0, min(workload.max_runs, len(workload.slots)) - len(per_slot))
    elif workload.policy == "Allow":
        missed = sum(1 for slot in workload.slots if slot not in per_slot)
    beyond = 0
    if workload.max_runs is not None:
        beyond = max(0, len(per_slot) - workload.max_runs)
    overlap = _overlaps(runs) if workload.policy == "Forbid" else 0
    return (workload.name, len(runs), missed, doubled, overlap, beyond)


def account(
    workloads: Iterable[Workload],
    runs: Iterable[RunSeen],
    leader_samples: Iterable[frozenset[str]],
    takeover_seconds: Sequence[float] = (),
    history: HistoryGaps | None = None,
) -> Report:
    """The report of one chaos run."""
    by_job: dict[str, list[RunSeen]] = {}
    for run in runs:
        by_job.setdefault(run.scheduledjob, []).append(run)
    report = Report(takeover_seconds=list(takeover_seconds), history=history)
    for workload in workloads:
        report.rows.append(_count(workload, by_job.get(workload.name, [])))
    report.two_leader_samples = sum(1 for leaders in leader_samples if len(leaders) > 1)
    return report


def takeovers(
    kills: Sequence[Kill], samples: Sequence[tuple[float, frozenset[str]]]
) -> list[float]:
    """Seconds from each kill to the first later sample led by another replica (a kill
    not followed by one within the samples counts as the time to the last sample)."""
    out = []
    for kill in kills:
        later = [(t, who) for t, who in samples if t >= kill.at]
        taken = next((t for t, who in later if who and kill.leader not in who), None)
        if taken is None and later:
            taken = later[-1][0]
        if taken is not None:
            out.append(taken - kill.at)
    return out
