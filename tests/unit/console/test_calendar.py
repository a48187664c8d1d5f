"""The calendar's layout: upcoming slots and past runs by day, in the viewer's zone."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from almanac.console import calendar
from almanac.core.status import RunPhase
from almanac.history.records import RunRecord

NOW = datetime(2026, 3, 2, 12, 0, tzinfo=UTC)  # a Monday


def job(uid: str, spec: dict[str, Any]) -> dict[str, Any]:
    base = {"template": "command", "params": {"command": ["true"]}}
    return {"metadata": {"uid": uid, "name": uid, "namespace": "org-1"}, "spec": base | spec}


def run(uid: str, at: datetime, phase: RunPhase) -> RunRecord:
    return RunRecord(
        namespace="org-1",
        scheduledjob=uid,
        scheduledjob_uid=uid,
        run_name=f"{uid}-{at:%H%M}",
        slot=at,
        phase=phase,
        started_at=at,
        finished_at=at + timedelta(seconds=1),
    )


def week(jobs: list[dict[str, Any]], runs: list[RunRecord], zone: str = "UTC") -> calendar.Calendar:
    tz = ZoneInfo(zone)
    since, until, days = calendar.span("week", date(2026, 3, 2), tz)
    return calendar.build(jobs, runs, days=days, since=since, until=until, now=NOW, zone=tz)


def test_a_week_holds_past_runs_with_their_result_and_upcoming_slots() -> None:
    nightly = job("nightly", {"schedule": {"cron": "0 2 * * *"}})
    shown = week(
        [nightly], [run("nightly", datetime(2026, 3, 2, 2, 0, tzinfo=UTC), RunPhase.FAILED)]
    )
    assert len(shown.days) == 7
    monday = shown.days[0].entries
    assert [(e.at.hour, e.status) for e in monday] == [(2, "failed")]
    assert monday[0].run_id == "nightly-0200"
    tuesday = shown.days[1].entries
    assert [(e.at.hour, e.status, e.run_id) for e in tuesday] == [(2, "upcoming", None)]
    assert sum(len(d.entries) for d in shown.days) == 7  # 1 past + 6 upcoming


def test_paused_and_event_only_jobs_have_no_upcoming_slots() -> None:
    paused = job("paused", {"schedule": {"cron": "0 * * * *"}, "suspend": True})
    events = job("events", {"triggers": [{"kafka": {"topic": "t"}}]})
    assert all(not d.entries for d in week([paused, events], []).days)


def test_the_days_are_the_viewers_zone() -> None:
    late = job("late", {"schedule": {"cron": "30 23 * * *"}})  # 23:30 UTC = 08:30 next day in Tokyo
    shown = week([late], [], zone="Asia/Tokyo")
    assert shown.days[1].entries[0].at.strftime("%H:%M") == "08:30"


def test_a_busy_schedule_is_capped_per_job() -> None:
    busy = job("busy", {"schedule": {"cron": "* * * * *"}})
    shown = week([busy], [])
    assert sum(len(d.entries) for d in shown.days) == calendar.PER_JOB
