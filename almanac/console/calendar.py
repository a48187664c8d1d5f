"""The calendar page's layout: a day or a week of the organisation's runs, in one zone. Pure.

Upcoming slots come from each job's compiled schedule (the operator's engine), past runs
from the history; both land in the same day columns, past ones carrying their result so
the page colours them. A schedule can have thousands of slots in a week (every minute),
so each job contributes at most :data:`PER_JOB` upcoming slots and the whole view at most
:data:`MAX_ENTRIES`; the page says how many were left out rather than growing unbounded.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, tzinfo
from typing import Any, Final, Literal

from almanac.api.mapping import display_name, run_view
from almanac.core.errors import AlmanacError
from almanac.core.resource import parse_spec
from almanac.core.schedule import compile_schedule
from almanac.history.records import RunRecord

__all__ = ["MAX_ENTRIES", "PER_JOB", "Calendar", "CalendarDay", "CalendarEntry", "build", "span"]

View = Literal["day", "week"]
#: Upcoming slots one job may put in a view.
PER_JOB: Final = 48
#: Entries a view holds at most (past and upcoming).
MAX_ENTRIES: Final = 2000


@dataclass(frozen=True)
class CalendarEntry:
    """One run: upcoming (``status`` ``upcoming``) or past (its run status)."""

    at: datetime
    job_id: str
    job_name: str
    status: str
    run_id: str | None = None


@dataclass(frozen=True)
class CalendarDay:
    day: date
    entries: tuple[CalendarEntry, ...]


@dataclass(frozen=True)
class Calendar:
    days: tuple[CalendarDay, ...]
    since: datetime
    until: datetime
    left_out: int


def span(view: View, first: date, zone: tzinfo) -> tuple[datetime, datetime, list[date]]:
    """The instants a view covers (``[since, until)``) and its days, in ``zone``."""
    days = [first + timedelta(days=i) for i in range(1 if view == "day" else 7)]
    since = datetime.combine(days[0], time(0), zone)
    until = datetime.combine(days[-1] + timedelta(days=1), time(0), zone)
    return since, until, days


def _upcoming(obj: Mapping[str, Any], after: datetime, until: datetime) -> Iterable[CalendarEntry]:
    spec = obj.get("spec") or {}
    meta = obj.get("metadata") or {}
    if spec.get("suspend"):
        return ()
    try:
        parsed = parse_spec(spec)
        if parsed.schedule is None:
            return ()
        slots = compile_schedule(parsed.schedule).slots_between(after, until, PER_JOB)
    except AlmanacError:
        return ()  # an invalid job shows as failed in the list; it has no slots to show
    name, uid = display_name(obj), str(meta.get("uid"))
    return (CalendarEntry(slot, uid, name, "upcoming") for slot in slots if slot < until)


def _past(record: RunRecord, names: Mapping[str, str]) -> CalendarEntry:
    run = run_view(record)
    return CalendarEntry(
        at=record.started_at or record.slot,
        job_id=record.scheduledjob_uid,
        job_name=names.get(record.scheduledjob_uid, record.scheduledjob),
        status=run.status,
        run_id=record.run_name,
    )


def build(
    jobs: Sequence[Mapping[str, Any]],
    runs: Sequence[RunRecord],
    *,
    days: Sequence[date],
    since: datetime,
    until: datetime,
    now: datetime,
    zone: tzinfo,
) -> Calendar:
    """Past runs in ``[since, until)`` and upcoming slots from ``max(now, since)``, by day."""
    names = {str((o.get("metadata") or {}).get("uid")): display_name(o) for o in jobs}
    entries = [_past(r, names) for r in runs if since <= (r.started_at or r.slot) < until]
    start = max(now, since)
    if start < until:
        for obj in jobs:
            entries.extend(_upcoming(obj, start, until))
    entries.sort(key=lambda e: (e.at, e.job_name))
    kept, left_out = entries[:MAX_ENTRIES], max(0, len(entries) - MAX_ENTRIES)
    by_day: dict[date, list[CalendarEntry]] = {day: [] for day in days}
    for entry in kept:
        local = entry.at.astimezone(zone)
        by_day.setdefault(local.date(), []).append(
            CalendarEntry(local, entry.job_id, entry.job_name, entry.status, entry.run_id)
        )
    return Calendar(
        days=tuple(CalendarDay(day, tuple(by_day[day])) for day in days),
        since=since,
        until=until,
        left_out=left_out,
    )
