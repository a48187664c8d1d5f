"""A retry through REST is a RunRequest named from the retried run: retrying a run twice
asks once, its run is named like the retry the ``almanac.dev/retry`` annotation starts (so
the two collide), and a run an event started is retried with that event."""

from __future__ import annotations

from datetime import UTC, datetime

from almanac.core.naming import run_name
from almanac.core.runrequests import (
    ASKED_BY_HAND,
    EventSource,
    RunRequestSpec,
    launch_of,
    retry_request,
)
from almanac.core.runs import job_name_of
from almanac.core.status import TriggerKind

SLOT = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)


def test_retrying_a_run_twice_asks_once_and_names_the_next_attempt() -> None:
    first, spec = retry_request(
        "report", "uid-1", "report-202612011200", slot=SLOT, attempt=2, origin=None
    )
    again, _ = retry_request(
        "report", "uid-1", "report-202612011200", slot=SLOT, attempt=2, origin=None
    )
    other, _ = retry_request(
        "report", "uid-1", "report-202612011300", slot=SLOT, attempt=2, origin=None
    )
    assert first == again != other
    run = launch_of(first, spec)
    assert (run.trigger, run.attempt, run.slot) == (TriggerKind.RETRY, 2, SLOT)
    annotation_retry = run_name("report", "uid-1", SLOT, trigger=TriggerKind.RETRY, attempt=2)
    assert job_name_of("report", "uid-1", run) == annotation_retry == "report-202612011200-r1-a2"
    assert (spec.retry_of, spec.source.id, spec.params) == (
        "report-202612011200",
        "retry:report-202612011200",
        {},
    )


def test_a_later_attempt_of_a_retry_request_keeps_its_name_but_counts_up() -> None:
    name, spec = retry_request(
        "report", "uid-1", "report-202612011200", slot=SLOT, attempt=2, origin=None
    )
    assert (
        job_name_of("report", "uid-1", launch_of(name, spec, attempt=3))
        == "report-202612011200-r1-a3"
    )


def test_an_event_runs_retry_carries_the_event() -> None:
    origin = RunRequestSpec(
        scheduled_job="report",
        trigger="orders",
        kind="event",
        due_time=SLOT,
        params={"env": {"ORDER": "42"}},
        source=EventSource(id="order-42", topic="orders", partition=0, offset=7),
        event={"id": "order-42"},
        key="customer-1",
    )
    _, spec = retry_request("report", "uid-1", "report-x-e1", slot=SLOT, attempt=2, origin=origin)
    assert (spec.params, spec.event, spec.source, spec.key) == (
        origin.params,
        origin.event,
        origin.source,
        origin.key,
    )


def test_a_retry_is_asked_for_by_hand_and_runs_while_paused() -> None:
    assert {"manual", "retry"} == ASKED_BY_HAND
