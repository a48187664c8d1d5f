"""One reconcile pass of one ScheduledJob, as a pure function.

``reconcile(snapshot, now)`` reads the ScheduledJob's spec and last status, its Jobs and
RunRequests and its template verdict (a :class:`~almanac.core.snapshot.Snapshot`) and
returns what to do (:mod:`almanac.core.actions`), the status to write and when to look
again. Nothing here waits, reads a clock or calls the API server; the operator's shell
carries the actions out in order. The steps, in the order a pass takes them:

1. an invalid spec, a missing template or a template refusing the job runs nothing, and
   the Ready condition says why;
2. the schedule's anchor (creation, the last schedule edit, or the last slot handled),
   and the failure streak (a pause once ``spec.pauseAfterFailures`` runs failed in a row);
3. run-now, manual retry and backfill by annotation, each key acted on once
   (acknowledged in status);
4. due retries of failed attempts (an event's retry keeps its event);
5. pending RunRequests whose time has come (backfills follow the overlap policy);
6. the schedule's due slots through catch-up, suspend, maxRuns and the overlap policy;
7. a BufferOne slot once nothing is active;
8. history limits;
9. the status, and the next wake-up.

Two behaviours the split made explicit (docs/architecture.md, "One reconcile pass"):
every Job a pass creates counts as active for the decisions after it in the same pass (a
run-now and a due slot under Forbid do not both start), and the RunRequest launches of a
pass are carried out concurrently (a burst of events is one pass), schedule slots in order.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from datetime import datetime

from almanac.core.actions import (
    Action,
    CountSkip,
    CreateJob,
    DeleteJob,
    KeepJob,
    LaunchRequest,
    PassResult,
    PostEvent,
)
from almanac.core.backfills import backfill_asks, backfill_key
from almanac.core.decisions import Buffer, Launch, Skip, SkipReason
from almanac.core.naming import rfc3339_utc
from almanac.core.overlap import backfill_releases, decide_overlap, release_buffered
from almanac.core.plan import (
    TickPlan,
    next_run_time,
    plan_tick,
    schedule_anchor,
    schedule_digest,
)
from almanac.core.pruning import prune_candidates
from almanac.core.requestdecisions import EVENTS_READ_RECHECK, request_actions, waits_for_events
from almanac.core.runrequests import RequestPhase, launch_of
from almanac.core.runs import JobObservation, RunRequest, job_name_of, run_now_label
from almanac.core.runstatus import due_retries
from almanac.core.schedule import summarize_schedule
from almanac.core.snapshot import SLOT_RUNS, Snapshot, StoredRequest, slots_launched
from almanac.core.status import ActiveRun, RunPhase, TriggerKind
from almanac.core.statuscompose import compose_status
from almanac.core.streak import track_streak
from almanac.core.vocabulary import (
    ANNOTATION_BACKFILL,
    ANNOTATION_RETRY,
    ANNOTATION_RUN_NOW,
    EventReason,
)

__all__ = ["reconcile"]


#: Run-now and retry keys remembered in status (each acts once).
ACKNOWLEDGED_KEYS = 20
#: Runs whose params and event live in their RunRequest (a retry by hand needs it).
_EVENT_RUNS = frozenset({TriggerKind.EVENT, TriggerKind.AFTER})


def reconcile(s: Snapshot, now: datetime) -> PassResult:
    """Bring one ScheduledJob's runs and status up to date (the module docstring's steps)."""
    if s.spec is None or s.error is not None:
        return PassResult((), compose_status(s, now, invalid=s.error), buffered=s.buffered)
    p = _Pass(s, now)
    if s.template is None:
        status = compose_status(s, now, missing_template=s.spec.template, extra=p.extra())
        return PassResult((), status, buffered=s.buffered)
    if s.refusal is not None:
        status = compose_status(s, now, invalid=s.refusal, extra=p.extra())
        return PassResult((), status, buffered=s.buffered)
    p.actions += p.streak.actions()
    p.run_now()
    p.retry_by_hand()
    p.backfill_by_hand()
    p.retries()
    p.requests()
    p.release_buffered()
    plan = p.schedule()
    p.prune()
    next_run = next_run_time(
        s.spec,
        s.compiled,
        now,
        runs_so_far=p.launched,
        anchor=p.last_schedule_time or p.anchor,
    )
    status = compose_status(
        s,
        now,
        jobs=[j for j in s.jobs.values() if j.name not in p.pruned],
        summary=summarize_schedule(s.spec.schedule),
        next_run=next_run,
        complete=plan.complete and not p.active,
        extra=p.extra(),
    )
    if plan.wait is not None:
        p.wake_at(plan.wait.until)
    return PassResult(tuple(p.actions), status, wake=p.wake, buffered=p.buffered)


class _Pass:
    """What one pass has decided so far: its actions and the status fields it moves."""

    def __init__(self, s: Snapshot, now: datetime) -> None:
        assert s.spec is not None
        self.s, self.spec, self.now = s, s.spec, now
        counts = s.status.counts
        self.launched, self.launched_unrecorded = slots_launched(s)
        self.skipped = counts.skipped if counts else 0
        self.pruned_succeeded = counts.pruned_succeeded if counts else 0
        self.pruned_failed = counts.pruned_failed if counts else 0
        self.digest = schedule_digest(self.spec)
        edited = s.status.schedule_hash not in (None, self.digest)
        self.anchor_at = now if edited else s.status.schedule_anchor
        self.anchor = schedule_anchor(
            created_at=s.created,
            last_schedule_time=s.status.last_schedule_time,
            edited_at=self.anchor_at,
        )
        self.last_schedule_time = s.status.last_schedule_time
        self.streak = track_streak(s)
        if self.streak.pause:  # no slot of this pass starts: the spec write is on its way
            self.spec = self.spec.model_copy(update={"suspend": True})
        self.run_now_keys = s.status.run_now_keys
        self.buffered = s.buffered
        #: Unfinished runs, the ones this pass creates included (see the module docstring).
        self.active = [
            ActiveRun(job=j.name, slot=j.slot, attempt=j.attempt, trigger=j.trigger)
            for j in s.running
        ]
        self.actions: list[Action] = []
        self.pruned: set[str] = set()
        #: Runs this pass creates, in order.
        self.planned: list[RunRequest] = []
        self.wake: datetime | None = None

    # -- bookkeeping --------------------------------------------------------------------

    def extra(self) -> dict[str, object]:
        return {
            "launched": self.launched,
            "skipped": self.skipped,
            "pruned_succeeded": self.pruned_succeeded,
            "pruned_failed": self.pruned_failed,
            "last_schedule_time": self.last_schedule_time,
            "run_now_keys": self.run_now_keys,
            "schedule_anchor": self.anchor_at,
            "schedule_hash": self.digest,
            "failure_streak": self.streak,
        }

    def wake_at(self, when: datetime) -> None:
        if self.wake is None or when < self.wake:
            self.wake = when

    def event(self, reason: EventReason, message: str) -> None:
        self.actions.append(PostEvent(reason, message))

    def acknowledge(self, key: str) -> None:
        self.run_now_keys = [*(self.run_now_keys or []), key][-ACKNOWLEDGED_KEYS:]

    def create(self, run: RunRequest, reason: EventReason = EventReason.LAUNCHED) -> str:
        job = job_name_of(self.s.ref.name, self.s.ref.uid, run)
        self.actions.append(CreateJob(job, run, reason))
        self.planned.append(run)
        self.active.append(
            ActiveRun(job=job, slot=run.slot, attempt=run.attempt, trigger=run.trigger)
        )
        return job

    # -- the steps ----------------------------------------------------------------------

    def run_now(self) -> None:
        """``almanac.dev/run-now: <key>``: one manual run per key. Its Job carries the
        key's label, so a key whose acknowledgement was lost is not run again."""
        key = self.s.annotations.get(ANNOTATION_RUN_NOW)
        if not key or key in (self.s.status.run_now_keys or []):
            return
        label = run_now_label(key)
        if not any(j.run_now == label for j in self.s.jobs.values()):
            slot = self.now.replace(microsecond=0)
            self.create(RunRequest(slot, TriggerKind.MANUAL, run_now_key=key), EventReason.RUN_NOW)
        self.acknowledge(key)

    def retry_by_hand(self) -> None:
        """``almanac.dev/retry: <run>``: one more attempt of a finished run's slot."""
        run = self.s.annotations.get(ANNOTATION_RETRY)
        if not run or f"retry:{run}" in (self.s.status.run_now_keys or []):
            return
        self.acknowledge(f"retry:{run}")
        failed = self.s.jobs.get(run)
        if failed is None or not failed.finished:
            self.event(EventReason.RETRY_REFUSED, f"run {run} is not a finished run of this job")
            return
        attempt = 1 + max(
            self.attempts(failed.slot, failed.request), self.attempts(failed.slot, None)
        )
        if failed.request is None or failed.trigger not in _EVENT_RUNS:
            retry = RunRequest(failed.slot, TriggerKind.RETRY, attempt=attempt)
        elif (stored := self.s.requests.get(failed.request)) is not None:
            retry = launch_of(stored.name, stored.spec, attempt=attempt)  # its event, again
        else:
            why = f"run {run} was started by an event whose RunRequest is gone (params lost)"
            self.event(EventReason.RETRY_REFUSED, why)
            return
        self.create(retry, EventReason.RETRYING)

    def backfill_by_hand(self) -> None:
        """``almanac.dev/backfill: <start>/<end>``: RunRequests for the range, once."""
        asked = self.s.annotations.get(ANNOTATION_BACKFILL)
        if asked and backfill_key(asked) not in (self.s.status.run_now_keys or []):
            self.acknowledge(backfill_key(asked))
            self.actions.extend(backfill_asks(self.s, asked))

    def attempts(self, slot: datetime, request: str | None) -> int:
        """The highest attempt of a slot's (or a request's) run, created or planned. A
        retry asked for by hand takes its attempt whichever way it came (annotation or
        RunRequest), so an automatic retry of that attempt does not run as well."""
        runs: list[JobObservation | RunRequest] = [*self.s.jobs.values(), *self.planned]
        return max(
            (
                r.attempt
                for r in runs
                if r.slot == slot and (r.request == request or r.trigger is TriggerKind.RETRY)
            ),
            default=0,
        )

    def retries(self) -> None:
        for run, due_at in due_retries(self.s.jobs.values(), self.spec.retry):
            if self.attempts(run.slot, run.request) >= run.attempt:
                continue  # a manual retry took this attempt already
            if due_at > self.now:
                self.wake_at(due_at)
            elif run.request is None:
                self.create(run, EventReason.RETRYING)
            elif (stored := self.s.requests.get(run.request)) is not None:
                retry = launch_of(stored.name, stored.spec, attempt=run.attempt)
                self.create(retry, EventReason.RETRYING)

    def requests(self) -> None:
        due: list[StoredRequest] = []
        backfills: list[tuple[datetime, StoredRequest]] = []
        for stored in self.s.requests.values():
            if stored.status.phase is not RequestPhase.PENDING:
                continue
            if stored.spec.due_time > self.now:
                self.wake_at(stored.spec.due_time)
            elif waits_for_events(stored, self.s.events_read_to):
                self.wake_at(self.now + EVENTS_READ_RECHECK)
            elif stored.spec.kind == "backfill":
                backfills.append((stored.spec.due_time, stored))
            else:
                due.append(stored)
        if backfills:
            launched_unseen = sum(
                1
                for r in self.s.requests.values()
                if r.status.phase is RequestPhase.LAUNCHED and r.status.job not in self.s.jobs
            )
            in_flight = len(self.active) + launched_unseen
            due += backfill_releases(self.spec.overlap_policy, backfills, in_flight)
        for stored in due:
            for action in request_actions(self.s, stored):
                self.actions.append(action)
                if isinstance(action, LaunchRequest):
                    run = action.run
                    self.active.append(
                        ActiveRun(
                            job=action.job, slot=run.slot, attempt=run.attempt, trigger=run.trigger
                        )
                    )

    def schedule(self) -> TickPlan:
        plan = plan_tick(
            self.spec,
            self.s.compiled,
            uid=self.s.ref.uid,
            now=self.now,
            anchor=self.anchor,
            runs_so_far=self.launched,
        )
        # Slots past the recorded one whose Jobs exist ran: not skipped, even where the plan,
        # counting them towards maxRuns, calls them beyond it.
        reached = {launch.slot for launch in plan.launches}
        ran = len(self.launched_unrecorded - reached)
        beyond = max(0, plan.beyond_max_runs - ran)
        skipped = plan.skipped - (plan.beyond_max_runs - beyond)
        self.skipped += skipped
        missed = skipped - beyond
        rows = self.skipped_rows(plan)
        if skipped and self.spec.suspend:
            self.actions.append(
                CountSkip(SkipReason.SUSPENDED, skipped, rows(SkipReason.SUSPENDED))
            )
            self.event(EventReason.SKIPPED, f"{skipped} slot(s) skipped: suspended")
        elif missed:
            self.actions.append(CountSkip(SkipReason.MISSED, missed, rows(SkipReason.MISSED)))
            self.event(EventReason.SKIPPED, f"{missed} missed slot(s) skipped (catch-up)")
        if beyond and not self.spec.suspend:
            why = SkipReason.MAX_RUNS_REACHED
            self.actions.append(CountSkip(why, beyond, rows(why)))
            self.event(EventReason.SKIPPED, f"{beyond} slot(s) skipped: maxRuns reached")
        for launch in plan.launches:
            self.overlap(launch)
        if plan.last_schedule_time is not None:
            self.last_schedule_time = plan.last_schedule_time
        return plan

    def skipped_rows(self, plan: TickPlan) -> Callable[[SkipReason], tuple[datetime, ...]]:
        """The slots the plan names as skipped for a reason, less those whose Jobs exist
        (they ran: an earlier leader launched them and its status write was lost)."""
        ran = {j.slot for j in self.s.jobs.values() if j.trigger in SLOT_RUNS}

        def rows(reason: SkipReason) -> tuple[datetime, ...]:
            return tuple(
                x.slot
                for x in plan.skips
                if x.reason is reason and x.slot is not None and x.slot not in ran
            )

        return rows

    def overlap(self, launch: Launch) -> None:
        self.last_schedule_time = launch.slot
        if any(j.slot == launch.slot and j.trigger in SLOT_RUNS for j in self.s.jobs.values()):
            # Launched already (an earlier leader whose status write was lost): counted in
            # slots_launched, and not an overlapping run of itself (one-run-per-slot).
            return
        decision = decide_overlap(
            self.spec.overlap_policy, launch, self.active, buffered=self.buffered
        )
        slot = rfc3339_utc(launch.slot)
        if isinstance(decision, Skip):
            self.skipped += 1
            self.actions.append(CountSkip(decision.reason, 1, (launch.slot,)))
            why = decision.reason.value.replace("_", " ")
            self.event(EventReason.SKIPPED, f"slot {slot} skipped: {why}")
            return
        if isinstance(decision, Buffer):
            self.buffered = decision.slot
            self.event(EventReason.BUFFERED, f"slot {slot} waits for the active run")
            return
        for name in decision.replace:
            replaced = self.s.jobs.get(name)
            cancelled = (
                dataclasses.replace(replaced, phase=RunPhase.CANCELLED, completion_time=self.now)
                if replaced is not None
                else None
            )
            self.actions.append(DeleteJob(name, cancelled=cancelled))
            self.event(EventReason.REPLACED, f"run {name} deleted for slot {slot}")
        gone = set(decision.replace)
        self.active = [a for a in self.active if a.job not in gone]
        self.create(RunRequest(decision.slot, decision.trigger, decision.attempt))
        self.launched += 1

    def release_buffered(self) -> None:
        """BufferOne: the queued slot starts once nothing is active (it counts as a run
        launched, towards maxRuns too)."""
        released = release_buffered(self.buffered, self.active)
        if released is None:
            return
        self.buffered = None
        self.create(RunRequest(released.slot, released.trigger))
        self.launched += 1

    def prune(self) -> None:
        for job in prune_candidates(self.s, self.now):
            if job.name in self.s.held:
                self.actions.append(KeepJob(job.name))
                continue
            self.actions.append(DeleteJob(job.name, pruned=True))
            self.pruned.add(job.name)
            if job.phase is RunPhase.SUCCEEDED:
                self.pruned_succeeded += 1
            else:
                self.pruned_failed += 1
