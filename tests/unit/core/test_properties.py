"""Hypothesis properties of the schedule engine, run names and catch-up."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from hypothesis import assume, given, settings
from hypothesis import strategies as st

from almanac.core import (
    ScheduleNeverFiresError,
    TriggerKind,
    parse_cron,
    plan_catch_up,
    preview_slots,
    run_name,
)
from almanac.core.cron import CronLine
from almanac.core.schedule import CompiledSchedule
from almanac.core.zones import load_zone, transitions_after

PROPERTY = settings(max_examples=50, deadline=None)
ZONES = ["UTC", "Europe/Berlin", "America/New_York", "Australia/Lord_Howe", "Asia/Tokyo"]
# Anchors close to DST changes in the zones above, where bugs hide.
ANCHORS = [
    datetime(2026, 3, 8, 6, 0, tzinfo=UTC),
    datetime(2026, 3, 29, 0, 0, tzinfo=UTC),
    datetime(2026, 4, 4, 14, 0, tzinfo=UTC),
    datetime(2026, 10, 3, 15, 0, tzinfo=UTC),
    datetime(2026, 10, 25, 0, 0, tzinfo=UTC),
    datetime(2026, 11, 1, 5, 0, tzinfo=UTC),
]


def field(low: int, high: int) -> st.SearchStrategy[str]:
    value = st.integers(low, high)
    return st.one_of(
        st.just("*"),
        st.integers(2, max(2, (high - low) // 2)).map(lambda k: f"*/{k}"),
        value.map(str),
        st.tuples(value, value).map(lambda p: f"{min(p)},{max(p)}"),
        st.tuples(value, value).map(lambda p: f"{min(p)}-{max(p)}"),
    )


cron_lines = st.tuples(
    field(0, 59),
    field(0, 23),
    st.one_of(st.just("*"), field(1, 28)),
    st.just("*"),
    st.one_of(st.just("*"), field(0, 6)),
).map(" ".join)


def schedule_of(lines: list[str], zone: str) -> CompiledSchedule:
    parsed: list[CronLine] = []
    for text in lines:
        try:
            parsed.append(parse_cron(text))
        except ScheduleNeverFiresError:
            assume(False)
    return CompiledSchedule(zone=load_zone(zone), zone_name=zone, lines=tuple(parsed))


def is_gap_end(instant: datetime, zone: str) -> bool:
    tz = ZoneInfo(zone) if zone != "UTC" else UTC
    before = (instant - timedelta(seconds=1)).astimezone(tz).utcoffset()
    after = instant.astimezone(tz).utcoffset()
    return before is not None and after is not None and after > before


@PROPERTY
@given(
    lines=st.lists(cron_lines, min_size=1, max_size=3),
    zone=st.sampled_from(ZONES),
    anchor=st.sampled_from(ANCHORS),
    shift=st.integers(-4 * 3600, 4 * 3600),
)
def test_cron_slots_increase_and_match_their_local_time(
    lines: list[str], zone: str, anchor: datetime, shift: int
) -> None:
    schedule = schedule_of(lines, zone)
    start = anchor + timedelta(seconds=shift)
    slots = schedule.slots_between(start, start + timedelta(days=40), 12)
    assert slots, "feasible lines fire within 40 days"
    assert all(a < b for a, b in zip([start, *slots], slots, strict=False))
    for slot in slots:
        local = slot.astimezone(schedule.zone)
        matching = [line for line in schedule.lines if line.matches(local)]
        assert matching or (
            any(line.wall_clock for line in schedule.lines) and is_gap_end(slot, zone)
        ), f"{slot} ({local}) matches none of {lines}"


@PROPERTY
@given(
    line=cron_lines,
    zone=st.sampled_from(ZONES),
    anchor=st.sampled_from(ANCHORS),
)
def test_elapsed_slots_equal_brute_force_minute_scan(
    line: str, zone: str, anchor: datetime
) -> None:
    schedule = schedule_of([line], zone)
    assume(not schedule.lines[0].wall_clock)
    start, end = anchor - timedelta(hours=3), anchor + timedelta(hours=9)
    expected = [
        t
        for t in (start + timedelta(minutes=m) for m in range(1, 12 * 60 + 1))
        if schedule.lines[0].matches(t.astimezone(schedule.zone))
    ]
    assert schedule.slots_between(start, end, 10_000) == expected


@PROPERTY
@given(
    line=cron_lines,
    zone=st.sampled_from(ZONES),
    anchor=st.sampled_from(ANCHORS),
)
def test_wall_clock_slots_run_each_local_time_once(line: str, zone: str, anchor: datetime) -> None:
    schedule = schedule_of([line], zone)
    assume(schedule.lines[0].wall_clock)
    start = anchor - timedelta(days=1)
    slots = schedule.slots_between(start, start + timedelta(days=3), 5000)
    locals_seen = [s.astimezone(schedule.zone).replace(tzinfo=None) for s in slots]
    assert len(locals_seen) == len(set(locals_seen)), "a local time ran twice"


@PROPERTY
@given(
    lines=st.lists(cron_lines, min_size=1, max_size=2),
    zone=st.sampled_from(ZONES),
    anchor=st.sampled_from(ANCHORS),
    count=st.integers(1, 8),
)
def test_preview_agrees_with_slots_due(
    lines: list[str], zone: str, anchor: datetime, count: int
) -> None:
    schedule = schedule_of(lines, zone)
    preview = preview_slots(schedule, anchor, count)
    assert preview
    assert all(p.utcoffset() == p.astimezone(schedule.zone).utcoffset() for p in preview)
    due = schedule.slots_between(anchor, preview[-1], count)
    assert [p.astimezone(UTC) for p in preview] == due


@PROPERTY
@given(
    every_s=st.integers(1, 7200),
    downtime_s=st.integers(0, 30 * 86_400),
    window_s=st.integers(1, 86_400),
    max_runs=st.integers(0, 20),
    offset_s=st.integers(0, 86_400),
)
def test_catch_up_runs_at_most_max_runs_inside_window(
    every_s: int, downtime_s: int, window_s: int, max_runs: int, offset_s: int
) -> None:
    schedule = CompiledSchedule(zone=UTC, zone_name="UTC", every=timedelta(seconds=every_s))
    now = ANCHORS[0] + timedelta(seconds=offset_s)
    after = now - timedelta(seconds=downtime_s)
    plan = plan_catch_up(
        schedule, after=after, now=now, window=timedelta(seconds=window_s), max_runs=max_runs
    )
    assert len(plan.run) <= max_runs
    assert list(plan.run) == sorted(set(plan.run))
    assert all(now - timedelta(seconds=window_s) <= s <= now and s > after for s in plan.run)
    assert len(plan.run) + plan.skipped == schedule.count_between(after, now).count


# Short plain names keep the readable (unhashed) form, where ambiguities would show.
names = st.one_of(
    st.from_regex(r"[a-z0-9]([-a-z0-9]{0,10}[a-z0-9])?", fullmatch=True),
    st.from_regex(r"[a-z0-9]([-a-z0-9]{0,70}[a-z0-9])?(\.[a-z0-9]{1,60}){0,3}", fullmatch=True),
)
# Few slots and small counters, so that different runs of one slot are compared often.
runs = st.tuples(
    st.sampled_from([0, 5, 60, 86_400, 10**9]).map(
        lambda s: datetime(2020, 1, 1, tzinfo=UTC) + timedelta(seconds=s)
    ),
    st.sampled_from(list(TriggerKind)),
    st.integers(1, 3),
    st.integers(0, 3),
)


@PROPERTY
@given(name=names, uid=st.uuids().map(str), keys=st.lists(runs, min_size=2, max_size=30))
def test_run_names_are_unique_short_and_dns_labels(
    name: str, uid: str, keys: list[tuple[datetime, TriggerKind, int, int]]
) -> None:
    assume(len(name) <= 253)
    identities: dict[tuple[object, ...], str] = {}
    for slot, trigger, attempt, n in keys:
        got = run_name(name, uid, slot, trigger=trigger, attempt=attempt, n=n)
        assert len(got) <= 63
        assert got[0].isalnum()
        assert got[-1].isalnum()
        assert set(got) <= set("abcdefghijklmnopqrstuvwxyz0123456789-")
        # schedule and catchup runs of one slot are the same run (exactly once per slot);
        # n only distinguishes runs of triggers that carry it.
        same_slot = trigger in {TriggerKind.SCHEDULE, TriggerKind.CATCHUP}
        identity = (slot, "slot" if same_slot else trigger, None if same_slot else n, attempt)
        identities[identity] = got
    assert len(set(identities.values())) == len(identities)


def test_transitions_are_found_to_the_second() -> None:
    berlin = load_zone("Europe/Berlin")
    found = transitions_after(berlin, datetime(2026, 1, 1, tzinfo=UTC), years=0)
    assert found == [datetime(2026, 3, 29, 1, tzinfo=UTC), datetime(2026, 10, 25, 1, tzinfo=UTC)]
