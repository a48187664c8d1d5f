"""The chaos suite's accounting of asked-for runs finds each fault it exists to find, and
nothing in a clean run: run-now and retry answers without a run or with two, events run
twice, early, after their cancel or not at all, chains missed or doubled, notices
missing."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime, timedelta

from hack.chaos.asked import (
    Ask,
    AskedRow,
    EventSent,
    after_row,
    event_rows,
    made_row,
    missing_notices,
    request_row,
)
from hack.chaos.ledger import RunSeen

T0 = datetime(2026, 12, 4, 12, 0, tzinfo=UTC)
DELAY = timedelta(seconds=15)


def job(
    name: str,
    *,
    owner: str = "manual-1",
    trigger: str = "manual",
    created: datetime = T0,
    event_id: str | None = None,
    step: int | None = None,
    upstream: str | None = None,
    outcome: str | None = "Succeeded",
) -> RunSeen:
    finished = created + timedelta(seconds=2) if outcome else None
    return RunSeen(
        name,
        owner,
        created,
        trigger,
        1,
        created,
        finished,
        outcome,
        event_id=event_id,
        step=step,
        upstream=upstream,
    )


def test_run_now_answers_each_with_its_run_is_clean() -> None:
    asks = [Ask("k1", "m-1"), Ask("k2", "m-2"), Ask("k1", "m-1")]  # k1 sent twice
    row = request_row("run-now", asks, [job("m-1"), job("m-2")])
    assert row == AskedRow("run-now", asked=2, runs=2)


def test_run_now_faults_are_each_counted() -> None:
    asks = [
        Ask("k1", "m-1"),
        Ask("k1", "m-9"),  # the same key answered with another run id
        Ask("k2", "m-2"),  # no Job
        Ask("k3", None),  # never answered
        Ask("k4", None, refused="409 conflict"),
    ]
    runs = [job("m-1"), job("m-9"), job("m-stray")]
    row = request_row("run-now", asks, runs)
    assert (row.missed, row.doubled, row.wrong) == (2, 1, 2)


def events(kind: str, *ids: str, key: str = "", accepted: bool = True) -> list[EventSent]:
    return [EventSent(i, kind, key or i, T0, accepted) for i in ids]


def rows(sent: list[EventSent], runs: list[RunSeen]) -> dict[str, AskedRow]:
    by_job: dict[str, list[RunSeen]] = {}
    for run in runs:
        by_job.setdefault(run.scheduledjob, []).append(run)
    return {row.name: row for row in event_rows(sent, by_job, DELAY, steps=2)}


def ev(event_id: str, owner: str, *, step: int | None = None, at: float = 0.0) -> RunSeen:
    created = T0 + timedelta(seconds=at)
    return job(
        f"{owner}-{event_id}-{step}", owner=owner, trigger="event", created=created,
        event_id=event_id, step=step,
    )  # fmt: skip


def test_events_run_once_each_including_a_republished_id() -> None:
    sent = [*events("now", "a", "b"), *events("now", "a")]
    got = rows(sent, [ev("a", "event-now"), ev("b", "event-now")])
    assert got["event-now"] == AskedRow("event-now", asked=2, runs=2)


def test_an_event_run_twice_or_never_or_unsent_is_counted() -> None:
    sent = events("now", "a", "b")
    got = rows(sent, [ev("a", "event-now"), ev("a", "event-now"), ev("z", "event-now")])
    assert (got["event-now"].missed, got["event-now"].doubled) == (1, 2)


def test_an_event_never_accepted_may_run_once_but_not_twice() -> None:
    sent = events("now", "a", accepted=False)
    assert rows(sent, [])["event-now"].faults == 0
    assert rows(sent, [ev("a", "event-now")])["event-now"].faults == 0
    assert rows(sent, [ev("a", "event-now")] * 2)["event-now"].doubled == 1


def test_a_delayed_run_before_its_delay_is_wrong() -> None:
    sent = events("delay", "d1", "d2")
    runs = [ev("d1", "event-delay", at=15), ev("d2", "event-delay", at=10)]
    assert rows(sent, runs)["event-delay"].wrong == 1


def test_a_sequence_runs_every_step_unless_cancelled_then_only_the_first() -> None:
    sent = [*events("seq", "s1", "s2"), *events("cancel", "c2", key="s2")]
    clean = [
        ev("s1", "event-seq", step=0),
        ev("s1", "event-seq", step=1, at=20),
        ev("s2", "event-seq", step=0),
    ]
    assert rows(sent, clean)["event-seq"] == AskedRow("event-seq", asked=2, runs=3)
    after_cancel = [*clean, ev("s2", "event-seq", step=1, at=20)]
    assert rows(sent, after_cancel)["event-seq"].wrong == 1
    missing_step = clean[:1] + clean[2:]
    assert rows(sent, missing_step)["event-seq"].missed == 1


def test_each_succeeded_upstream_run_chains_once() -> None:
    stop = T0 + timedelta(minutes=1)
    upstream = [
        job("u1", owner="allow-1", trigger="schedule"),
        job("u2", owner="allow-1", trigger="schedule"),
        job("u3", owner="allow-1", trigger="schedule", outcome="Failed"),
        job("u4", owner="allow-1", trigger="schedule", created=stop),  # finished too late
    ]
    chained = [
        job("c1", owner="chain-1", trigger="after", upstream="u1"),
        job("c2", owner="chain-1", trigger="after", upstream="u2"),
    ]
    assert after_row("chain-1", upstream, chained, stop).faults == 0
    doubled = [*chained, dataclasses.replace(chained[0], job="c1b")]
    assert after_row("chain-1", upstream, doubled, stop).doubled == 1
    assert after_row("chain-1", upstream, chained[:1], stop).missed == 1
    on_failed = [*chained, job("c3", owner="chain-1", trigger="after", upstream="u3")]
    assert after_row("chain-1", upstream, on_failed, stop).doubled == 1


def test_a_finished_run_without_its_lifecycle_event_is_a_missing_notice() -> None:
    runs = [job("m-1"), job("m-2", outcome="Failed"), job("m-3", outcome=None)]
    tapped = {"m-1": {"almanac.run.started", "almanac.run.succeeded"}, "m-2": set()}
    assert missing_notices(runs, tapped) == 1
    tapped["m-2"].add("almanac.run.failed")
    assert missing_notices(runs, tapped) == 0


def test_each_job_create_key_makes_one_job_the_one_answered() -> None:
    asks = [Ask("k1", "uid-1"), Ask("k1", "uid-1"), Ask("k2", "uid-2")]
    made = {"k1": ["uid-1"], "k2": ["uid-2"]}
    assert made_row("job create", asks, made) == AskedRow("job create", asked=2, runs=2)
    doubled = made_row("job create", asks, made | {"k1": ["uid-1", "uid-9"]})
    assert (doubled.doubled, doubled.wrong) == (1, 0)
    answered_other = made_row("job create", [*asks, Ask("k2", "uid-7")], made)
    assert answered_other.wrong == 1
    never = made_row("job create", [Ask("k3", None)], {})
    assert never.missed == 1
