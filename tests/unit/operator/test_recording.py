"""Run records as the operator builds them, and when a Job may be deleted."""

from __future__ import annotations

import asyncio
import dataclasses
from datetime import UTC, datetime, timedelta

import pytest

from almanac.core.decisions import SkipReason
from almanac.core.logtail import LogTail
from almanac.core.models import Retry
from almanac.core.runs import JobObservation
from almanac.core.status import RunPhase, TriggerKind
from almanac.history import Backoff, BufferedRecorder, HistoryUnavailableError
from almanac.history.deferred import DeferredRunStore
from almanac.notify import NotifySettings
from almanac.operator.kube import ObjectRef, RunOutcome
from almanac.operator.observability import Metrics
from almanac.operator.recording import (
    RunRecorder,
    SkipRowBudget,
    parse_result,
    run_record,
    skipped_record,
)
from almanac.operator.tracked import Tracked
from almanac.operator.writer import BackgroundWriter
from tests.support import eventually
from tests.support.runstore import InMemoryRunStore

SLOT = datetime(2026, 12, 1, 4, 0, tzinfo=UTC)
REF = ObjectRef(namespace="org-7", name="nightly", uid="uid-1")
NOTIFY_ON = NotifySettings(enabled=True, bootstrap="127.0.0.1:9")


def job(phase: RunPhase, name: str = "nightly-202612010400") -> JobObservation:
    finished = phase in (RunPhase.SUCCEEDED, RunPhase.FAILED, RunPhase.CANCELLED)
    return JobObservation(
        name=name,
        slot=SLOT,
        trigger=TriggerKind.SCHEDULE,
        attempt=1,
        phase=phase,
        start_time=SLOT + timedelta(seconds=1),
        completion_time=SLOT + timedelta(seconds=9) if finished else None,
    )


def test_executor_result_is_kept_and_its_failure_summary_is_the_error() -> None:
    ok = '{"status": "succeeded", "summary": "200 OK", "details": {"status_code": 200}}'
    assert parse_result(ok) == (
        {"status": "succeeded", "summary": "200 OK", "details": {"status_code": 200}},
        None,
    )
    bad = '{"status": "failed", "summary": "connection refused"}'
    assert parse_result(bad)[1] == "connection refused"


def test_plain_text_termination_message_becomes_a_summary() -> None:
    assert parse_result("all done\n") == ({"summary": "all done"}, None)
    assert parse_result("[1, 2]") == ({"summary": "[1, 2]"}, None)
    assert parse_result("  ") == (None, None)


def test_a_finished_runs_record_carries_its_log_tail() -> None:
    tail = LogTail(("connecting", "exit 3"), truncated=True)
    record = run_record(REF, "t", job(RunPhase.FAILED), RunOutcome("", 3, "p", tail))
    assert record.log == tail
    assert run_record(REF, "t", job(RunPhase.FAILED)).log is None  # not read: none kept


def test_finished_run_record_carries_times_exit_code_pod_and_result() -> None:
    outcome = RunOutcome('{"status": "succeeded", "summary": "sent"}', 0, "nightly-x-abcde")
    record = run_record(REF, "message", job(RunPhase.SUCCEEDED), outcome)
    assert record.key == ("uid-1", "nightly-202612010400")
    assert (record.namespace, record.scheduledjob, record.template) == (
        "org-7",
        "nightly",
        "message",
    )
    assert record.phase is RunPhase.SUCCEEDED
    assert record.final
    assert record.duration == timedelta(seconds=8)
    assert (record.exit_code, record.pod, record.error) == (0, "nightly-x-abcde", None)
    assert record.result == {"status": "succeeded", "summary": "sent"}


def test_failed_run_without_a_message_says_why() -> None:
    assert run_record(REF, "t", job(RunPhase.FAILED), RunOutcome("", 3, "p")).error == (
        "exit code 3"
    )
    assert "deadline" in (run_record(REF, "t", job(RunPhase.FAILED)).error or "")


def test_pending_record_uses_the_launch_time_and_has_no_end() -> None:
    pending = JobObservation("n-1", SLOT, TriggerKind.MANUAL, 1, RunPhase.PENDING, None, None)
    record = run_record(REF, "t", pending, launched_at=SLOT)
    assert (record.started_at, record.finished_at, record.trigger) == (SLOT, None, "manual")


def test_oversized_result_is_truncated_and_marked() -> None:
    huge = '{"status": "succeeded", "summary": "' + "x" * 40_000 + '"}'
    record = run_record(REF, "t", job(RunPhase.SUCCEEDED), RunOutcome(huge, 0, "p"))
    assert record.result is not None
    assert len(str(record.result)) < 20_000
    assert record.result.get("truncated") is True


async def test_a_finished_run_is_written_with_its_notifications() -> None:
    store = InMemoryRunStore()
    recorder = RunRecorder(BufferedRecorder(store), NOTIFY_ON)
    recorder.record(run_record(REF, "export", job(RunPhase.SUCCEEDED), RunOutcome("{}", 0, "p")))
    await recorder.buffer.flush()
    assert (await store.get_run("uid-1", "nightly-202612010400")) is not None
    kinds = sorted(m.payload.get("type") or m.payload["event_type"] for m in store.outbox.values())
    assert kinds == ["almanac.run.succeeded", "export-completed"]


async def test_the_same_phase_is_queued_once() -> None:
    store = InMemoryRunStore()
    recorder = RunRecorder(BufferedRecorder(store), NotifySettings())
    running = run_record(REF, "t", job(RunPhase.RUNNING))
    recorder.record(running)
    await recorder.buffer.flush()
    recorder.record(running)
    assert recorder.buffer.backlog == 0


async def test_a_job_may_go_only_once_its_final_row_is_stored() -> None:
    store = InMemoryRunStore()
    recorder = RunRecorder(BufferedRecorder(store), NotifySettings())
    name = "nightly-202612010400"
    assert not await recorder.may_delete("uid-1", name)  # nothing stored
    recorder.record(run_record(REF, "t", job(RunPhase.SUCCEEDED)))
    assert not await recorder.may_delete("uid-1", name)  # queued, not stored
    await recorder.buffer.flush()
    assert await recorder.may_delete("uid-1", name)


async def test_during_an_outage_nothing_may_go_and_the_problem_is_explained() -> None:
    store = InMemoryRunStore()
    recorder = RunRecorder(BufferedRecorder(store), NotifySettings())
    recorder.record(run_record(REF, "t", job(RunPhase.SUCCEEDED)))
    store.fail_next(1)
    await recorder.buffer.flush()
    assert not recorder.healthy
    assert recorder.problem is not None
    assert "1 record(s) buffered" in recorder.problem
    assert "ALMANAC_DATABASE_URL" in recorder.problem
    assert not await recorder.may_delete("uid-1", "nightly-202612010400")
    await recorder.buffer.flush()
    assert recorder.healthy
    assert recorder.problem is None
    assert await recorder.may_delete("uid-1", "nightly-202612010400")


async def test_deferred_store_refuses_until_attached_then_delegates() -> None:
    deferred = DeferredRunStore("postgres at 127.0.0.1:1 did not answer")
    with pytest.raises(HistoryUnavailableError, match="did not answer"):
        await deferred.has_final_record("uid-1", "x")
    recorder = BufferedRecorder(deferred)
    recorder.submit(run_record(REF, "t", job(RunPhase.SUCCEEDED)))
    await recorder.flush()
    assert recorder.backlog == 1
    assert not recorder.healthy
    store = InMemoryRunStore()
    deferred.attach(store)
    await recorder.flush()
    assert recorder.backlog == 0
    assert await store.has_final_record("uid-1", job(RunPhase.SUCCEEDED).name)


async def test_retry_now_cuts_the_backoff_short() -> None:
    deferred = DeferredRunStore()
    recorder = BufferedRecorder(deferred, backoff=Backoff(initial=60.0, maximum=60.0, jitter=0))
    recorder.submit(run_record(REF, "t", job(RunPhase.SUCCEEDED)))
    stop = asyncio.Event()
    loop = asyncio.create_task(recorder.run(stop))
    try:
        await eventually(lambda: not recorder.healthy, timeout=5, interval=0.01, what="outage")
        deferred.attach(InMemoryRunStore())
        recorder.retry_now()  # without it the next try would be a minute away
        await eventually(lambda: recorder.backlog == 0, timeout=5, interval=0.01, what="flush")
    finally:
        stop.set()
        await loop


async def test_a_row_the_full_buffer_evicted_is_recorded_again_and_its_job_may_then_go() -> None:
    store = InMemoryRunStore()
    recorder = RunRecorder(BufferedRecorder(store, capacity=1), NotifySettings())
    first, second = job(RunPhase.SUCCEEDED, "nightly-a"), job(RunPhase.SUCCEEDED, "nightly-b")
    recorder.record(run_record(REF, "t", first))
    recorder.record(run_record(REF, "t", second))  # the buffer holds one: the first goes
    assert recorder.buffer.dropped == 1
    await recorder.buffer.flush()
    assert not await recorder.may_delete("uid-1", "nightly-a")  # never stored
    assert await recorder.may_delete("uid-1", "nightly-b")  # the one kept was stored
    assert recorder.requeue_if_lost("uid-1", "nightly-a")
    recorder.record(run_record(REF, "t", first))  # what the writer does with it next
    await recorder.buffer.flush()
    assert await recorder.may_delete("uid-1", "nightly-a")


async def test_a_queued_row_is_not_taken_for_lost() -> None:
    store = InMemoryRunStore()
    recorder = RunRecorder(BufferedRecorder(store), NotifySettings())
    recorder.record(run_record(REF, "t", job(RunPhase.SUCCEEDED)))
    assert not recorder.requeue_if_lost("uid-1", "nightly-202612010400")
    assert recorder.buffer.backlog == 1


class OutcomeKube:
    async def run_outcome(self, namespace: str, job: str) -> RunOutcome:
        return RunOutcome("{}", 0, "pod")


async def test_the_writer_records_an_announced_run_again_without_a_second_event() -> None:
    store = InMemoryRunStore()
    recorder = RunRecorder(BufferedRecorder(store), NotifySettings())
    chained: list[str] = []
    writer = BackgroundWriter(
        OutcomeKube(),  # type: ignore[arg-type]
        Metrics(),
        started=SLOT,
        recorder=recorder,
        on_finished=lambda t, j, o: chained.append(j.name),
    )
    body = {
        "metadata": {"namespace": "org-7", "name": "nightly", "uid": "uid-1"},
        "spec": {"template": "command", "params": {}, "schedule": {"every": "1h"}},
    }
    tracked = Tracked.from_body(body)
    done = job(RunPhase.SUCCEEDED)
    tracked.jobs[done.name] = done
    await writer._announce_finished(tracked)
    await recorder.buffer.flush()
    events = writer._events.qsize()
    assert chained == [done.name]
    store.runs.clear()  # as if its row had been evicted before it was written
    recorder.forget("uid-1", done.name)
    writer.rerecord(tracked, done.name)
    await writer._announce_finished(tracked)
    await recorder.buffer.flush()
    assert await store.get_run("uid-1", done.name) is not None
    assert chained == [done.name]  # no second chain
    assert writer._events.qsize() == events  # no second Event


@pytest.mark.parametrize(
    ("attempt", "phase", "expected"),
    [
        pytest.param(1, RunPhase.FAILED, True, id="first-of-two-failed"),
        pytest.param(2, RunPhase.FAILED, False, id="last-of-two-failed"),
        pytest.param(1, RunPhase.SUCCEEDED, False, id="succeeded"),
    ],
)
def test_a_failed_run_record_says_whether_the_policy_retries_it(
    attempt: int, phase: RunPhase, expected: bool
) -> None:
    retry = Retry.model_validate({"maxAttempts": 2})
    seen = dataclasses.replace(job(phase), attempt=attempt)

    record = run_record(REF, "script", seen, RunOutcome("", 1, "pod"), retry=retry)

    assert record.will_retry is expected
    assert run_record(REF, "script", seen, RunOutcome("", 1, "pod")).will_retry is False


async def test_the_writer_announces_a_failed_attempt_with_the_specs_retry_verdict() -> None:
    store = InMemoryRunStore()
    recorder = RunRecorder(BufferedRecorder(store), NOTIFY_ON)
    writer = BackgroundWriter(OutcomeKube(), Metrics(), started=SLOT, recorder=recorder)  # type: ignore[arg-type]
    spec = {"template": "command", "params": {}, "schedule": {"every": "1h"}}
    body = {
        "metadata": {"namespace": "org-7", "name": "nightly", "uid": "uid-1"},
        "spec": spec | {"retry": {"maxAttempts": 2}},
    }
    tracked = Tracked.from_body(body)
    first = job(RunPhase.FAILED)
    last = dataclasses.replace(job(RunPhase.FAILED, "nightly-202612010400-a2"), attempt=2)
    tracked.jobs |= {first.name: first, last.name: last}

    await writer._announce_finished(tracked)
    await recorder.buffer.flush()

    failed = {
        m.payload["data"]["attempt"]: m.payload["data"]["will_retry"]
        for m in store.outbox.values()
        if m.payload.get("type") == "almanac.run.failed"
    }
    assert failed == {1: True, 2: False}


def test_a_job_kubernetes_ended_at_its_deadline_is_recorded_timeout() -> None:
    late = dataclasses.replace(job(RunPhase.FAILED), timed_out=True)

    record = run_record(REF, "t", late)

    assert (record.reason, record.error) == ("timeout", "the run exceeded its deadline")


def test_the_executors_deadline_marker_is_recorded_timeout() -> None:
    result = '{"status": "failed", "summary": "over", "details": {"error": "deadline_exceeded"}}'

    record = run_record(REF, "t", job(RunPhase.FAILED), RunOutcome(result, 1, "p"))

    assert record.reason == "timeout"
    assert run_record(REF, "t", job(RunPhase.FAILED), RunOutcome("", 1, "p")).reason is None


@pytest.mark.parametrize(
    ("max_attempts", "attempt", "dead"),
    [
        pytest.param(1, 1, False, id="no-retry-policy-stays-failed"),
        pytest.param(3, 2, False, id="a-retry-follows"),
        pytest.param(3, 3, True, id="last-attempt-is-dead-lettered"),
        pytest.param(3, 4, True, id="a-retry-by-hand-past-the-last-too"),
    ],
)
def test_a_failed_run_with_no_retry_left_is_dead_lettered_at_its_end(
    max_attempts: int, attempt: int, dead: bool
) -> None:
    failed = dataclasses.replace(job(RunPhase.FAILED), attempt=attempt)

    record = run_record(REF, "t", failed, retry=Retry(max_attempts=max_attempts))

    assert record.dead_lettered_at == (failed.completion_time if dead else None)


def test_a_skipped_slots_row_is_named_like_its_run_with_the_reason() -> None:
    record = skipped_record(REF, "http", SLOT, SkipReason.SUSPENDED)

    assert (record.run_name, record.phase, record.trigger, record.reason) == (
        "nightly-202612010400",
        RunPhase.SKIPPED,
        "schedule",
        "suspended",
    )


def test_skipped_rows_are_bounded_per_job_and_hour() -> None:
    budget = SkipRowBudget(per_hour=2)

    taken = [budget.take("uid-1", SLOT + timedelta(minutes=m)) for m in (0, 1, 2)]

    assert taken == [True, True, False]
    assert budget.take("uid-2", SLOT)
    assert budget.take("uid-1", SLOT + timedelta(minutes=60, seconds=1))
