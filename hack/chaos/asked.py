"""The chaos suite's accounting of runs someone asked for: run-now and retry requests and
events sent through the facade, and ``after`` chains. Pure: the driver records what it
asked and what the facade answered, the Job ledger what ran; this counts.

Per kind of request, after quiescence:

* **missed**: a request the facade accepted (or never answered, however long the suite
  retried it) with no run;
* **doubled**: a request with more than one run, or a run no request accounts for;
* **wrong**: a run that broke its request's terms: a delayed run created before its
  delay, a sequence step run after its cancel, one key answered with two run ids (or a
  job id that is not the job made), a request the facade refused.

Jobs made through the facade are counted the same way: each idempotency key one
ScheduledJob, whatever the number of sends.

And the lifecycle events a Kafka tap read: a finished run with no ``almanac.run.*``
event for its outcome is a **notice missing**.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Final

from hack.chaos.ledger import RunSeen

__all__ = [
    "Ask",
    "AskedRow",
    "EventSent",
    "after_row",
    "asked_table",
    "event_rows",
    "made_row",
    "missing_notices",
    "request_row",
]

#: Job creation times have whole seconds: a delayed run this much before its due time is
#: still on time.
_CLOCK_SLACK: Final = timedelta(seconds=1)
_TERMINAL: Final = {"Succeeded": "almanac.run.succeeded", "Failed": "almanac.run.failed"}


@dataclass(frozen=True)
class Ask:
    """One run-now (``ident``: its idempotency key) or retry (``ident``: the run retried)
    request and the run id the facade answered with (``None``: never answered; ``refused``:
    the facade's 4xx)."""

    ident: str
    run_id: str | None
    refused: str | None = None


@dataclass(frozen=True)
class EventSent:
    """One event published through the facade (a re-publish is another ``EventSent`` with
    the same ``id``)."""

    id: str
    kind: str  # "now", "delay", "seq" or "cancel"
    key: str
    at: datetime
    accepted: bool


@dataclass(frozen=True)
class AskedRow:
    name: str
    asked: int
    runs: int
    missed: int = 0
    doubled: int = 0
    wrong: int = 0

    @property
    def faults(self) -> int:
        return self.missed + self.doubled + self.wrong


def _answers(asks: Sequence[Ask]) -> dict[str, set[str]]:
    """Each request's answers: its key (or the run retried) to the ids the facade named."""
    answers: dict[str, set[str]] = {}
    for ask in asks:
        if ask.run_id is not None:
            answers.setdefault(ask.ident, set()).add(ask.run_id)
    return answers


def _unanswered(asks: Sequence[Ask], answers: Mapping[str, set[str]]) -> int:
    """Requests neither answered nor refused, however often they were sent."""
    refused = {a.ident for a in asks if a.refused is not None}
    return len({a.ident for a in asks} - set(answers) - refused)


def request_row(name: str, asks: Sequence[Ask], runs: Sequence[RunSeen]) -> AskedRow:
    """Run-now or retry requests against the Jobs of their trigger (named by run id)."""
    answers = _answers(asks)
    wanted = {run_id for ids in answers.values() for run_id in ids}
    seen = Counter(run.job for run in runs)
    return AskedRow(
        name,
        asked=len({a.ident for a in asks}),
        runs=len(runs),
        missed=sum(1 for run_id in wanted if run_id not in seen) + _unanswered(asks, answers),
        doubled=sum(n for job, n in seen.items() if job not in wanted),
        wrong=sum(len(ids) - 1 for ids in answers.values())
        + sum(1 for a in asks if a.refused is not None),
    )


def _event_row(
    name: str,
    sent: Sequence[EventSent],
    runs: Sequence[RunSeen],
    *,
    steps: int,
    delay: timedelta,
    cancelled: frozenset[str],
) -> AskedRow:
    """Each event id runs once per step (only step 0 when its key was cancelled first),
    never before its delay; an id never accepted may run at most once per step."""
    first: dict[str, EventSent] = {}
    accepted: set[str] = set()
    for event in sorted(sent, key=lambda e: e.at):
        first.setdefault(event.id, event)
        if event.accepted:
            accepted.add(event.id)
    per_step = Counter((run.event_id, run.step or 0) for run in runs)
    missed = doubled = wrong = 0
    for event_id, event in first.items():
        for step in range(steps):
            count = per_step.pop((event_id, step), 0)
            if step > 0 and event.key in cancelled:
                wrong += count  # ran after its cancel
                continue
            if count == 0 and event_id in accepted:
                missed += 1
            doubled += max(0, count - 1)
    doubled += sum(per_step.values())  # runs of events never sent
    for run in runs:
        sent_first = first.get(run.event_id or "")
        if sent_first is not None and run.created + _CLOCK_SLACK < sent_first.at + delay:
            wrong += 1  # before its delay
    return AskedRow(name, len(first), len(runs), missed, doubled, wrong)


def event_rows(
    sent: Sequence[EventSent],
    runs_of: Mapping[str, Sequence[RunSeen]],
    delay: timedelta,
    steps: int,
) -> list[AskedRow]:
    """The ``event-now``, ``event-delay`` and ``event-seq`` workloads' rows (``runs_of``:
    each workload's Jobs). A key is cancelled when a cancel for it was accepted."""
    cancelled = frozenset(e.key for e in sent if e.kind == "cancel" and e.accepted)
    terms = {"now": (1, timedelta()), "delay": (1, delay), "seq": (steps, timedelta())}
    return [
        _event_row(
            f"event-{kind}",
            [e for e in sent if e.kind == kind],
            runs_of.get(f"event-{kind}", ()),
            steps=kind_steps,
            delay=kind_delay,
            cancelled=cancelled,
        )
        for kind, (kind_steps, kind_delay) in terms.items()
    ]


def after_row(
    name: str, upstream: Sequence[RunSeen], chained: Sequence[RunSeen], before: datetime
) -> AskedRow:
    """Each upstream run that succeeded chains exactly one run (required of those that
    finished ``before``, allowed of later ones: their chained run may still be coming)."""
    succeeded = {run.job: run for run in upstream if run.outcome == "Succeeded"}
    wanted = {job for job, run in succeeded.items() if run.finished and run.finished < before}
    seen = Counter(run.upstream for run in chained)
    return AskedRow(
        name,
        asked=len(wanted),
        runs=len(chained),
        missed=sum(1 for job in wanted if job not in seen),
        doubled=sum(n - 1 for n in seen.values() if n > 1)
        + sum(n for job, n in seen.items() if job not in succeeded),
    )


def made_row(name: str, asks: Sequence[Ask], made: Mapping[str, Sequence[str]]) -> AskedRow:
    """Jobs made through the facade: each key one job (``made``: key to the uids of the
    jobs made under its display name), the one every answer named."""
    answers = _answers(asks)
    jobs = {a.ident: list(made.get(a.ident, ())) for a in asks}
    return AskedRow(
        name,
        asked=len(jobs),
        runs=sum(len(uids) for uids in jobs.values()),
        missed=sum(1 for key in answers if not jobs[key]) + _unanswered(asks, answers),
        doubled=sum(max(0, len(uids) - 1) for uids in jobs.values()),
        wrong=sum(1 for key, ids in answers.items() if ids - set(jobs[key]))
        + sum(1 for a in asks if a.refused is not None),
    )


def missing_notices(runs: Iterable[RunSeen], tapped: Mapping[str, set[str]]) -> int:
    """Finished runs with no lifecycle event of their outcome (``tapped``: run name to the
    event types read for it)."""
    return sum(
        1
        for run in runs
        if run.outcome in _TERMINAL and _TERMINAL[run.outcome] not in tapped.get(run.job, set())
    )


def asked_table(rows: Sequence[AskedRow], notices_missing: int, copies: int) -> str:
    """The asked-for runs' table and the Kafka tap's line."""
    lines = [f"{'asked':24} {'asked':>5} {'runs':>5} {'missed':>7} {'doubled':>8} {'wrong':>6}"]
    lines += [
        f"{r.name:24} {r.asked:>5} {r.runs:>5} {r.missed:>7} {r.doubled:>8} {r.wrong:>6}"
        for r in rows
    ]
    lines.append(
        f"finished runs without their lifecycle event on Kafka: {notices_missing} "
        f"(records delivered twice, one id: {copies})"
    )
    return "\n".join(lines)
