"""The schedule editor's fields ↔ the job JSON's schedule fields. Pure.

The editor shows one kind at a time (a cron line, an interval, one instant, or none: a
job run only by events), the time zone, and the bounds. Instants are typed as wall-clock
times in the chosen zone (what a person means by "02:30 on the 30th"), so they are turned
into RFC 3339 instants here with the zone's offset on that day; an instant typed with its
own offset is taken as it is. Every refusal names the form field, so the page can put the
message next to it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Final, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from almanac.api.errors import BadRequestError, Problem
from almanac.api.schemas import Job

__all__ = ["KINDS", "ScheduleForm"]

Kind = Literal["cron", "every", "at", "none"]
KINDS: Final[tuple[Kind, ...]] = ("cron", "every", "at", "none")
_LOCAL_FORMAT: Final = "%Y-%m-%dT%H:%M"


def _zone(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise BadRequestError(
            f"{name!r} is not an IANA time zone; pick one such as Europe/Berlin or UTC",
            "timezone",
        ) from None


def _instant(text: str, zone: ZoneInfo, field: str) -> datetime:
    """A wall-clock time in ``zone`` (``2026-03-29T02:30``), or an instant with an offset."""
    try:
        value = datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    except ValueError:
        raise BadRequestError(
            f"{text!r} is not a date and time; write it as 2026-03-29T02:30", field
        ) from None
    if value.tzinfo is not None:
        return value
    local = value.replace(tzinfo=zone)  # a repeated time: its first occurrence (fold=0)
    if local.astimezone(UTC).astimezone(zone).replace(tzinfo=None) != value:
        raise BadRequestError(
            f"{text} does not exist in {zone.key}: the clocks jump forward over it that "
            "day; pick a time outside the gap",
            field,
        )
    return local


def _local(value: Any, zone: str) -> str:
    """An instant as the editor shows it: wall-clock time in the job's zone."""
    if value is None:
        return ""
    if isinstance(value, str):
        value = datetime.fromisoformat(value.replace("Z", "+00:00"))
    try:
        return str(value.astimezone(ZoneInfo(zone)).strftime(_LOCAL_FORMAT))
    except (ZoneInfoNotFoundError, ValueError):
        return str(value.isoformat())


@dataclass(frozen=True)
class ScheduleForm:
    """What the schedule editor holds, as typed (strings: it is re-shown on errors)."""

    kind: Kind = "cron"
    cron: str = ""
    every: str = ""
    at: str = ""
    timezone: str = "UTC"
    start: str = ""
    end: str = ""
    max_runs: str = ""

    @classmethod
    def from_fields(cls, fields: Mapping[str, str]) -> ScheduleForm:
        """From the posted form (or the preview's query); an unknown kind is a cron line."""
        kind = fields.get("schedule_kind", "cron")
        return cls(
            kind=kind if kind in KINDS else "cron",
            cron=fields.get("cron", "").strip(),
            every=fields.get("every", "").strip(),
            at=fields.get("at", "").strip(),
            timezone=fields.get("timezone", "").strip() or "UTC",
            start=fields.get("start_date", "").strip(),
            end=fields.get("end_date", "").strip(),
            max_runs=fields.get("max_executions", "").strip(),
        )

    @classmethod
    def from_job(cls, job: Job) -> ScheduleForm:
        """The editor filled from a job as REST shows it."""
        schedule = job.schedule
        zone = job.timezone
        bounds = {
            "timezone": zone,
            "start": _local(job.start_date, zone),
            "end": _local(job.end_date, zone),
            "max_runs": str(job.max_executions or ""),
        }
        if schedule is None:
            return cls(kind="none", **bounds)
        if isinstance(schedule, list):
            return cls(kind="cron", cron="\n".join(schedule), **bounds)
        if schedule.startswith("@every "):
            return cls(kind="every", every=schedule.removeprefix("@every ").strip(), **bounds)
        if schedule.startswith("@at "):
            return cls(kind="at", at=_local(schedule.removeprefix("@at ").strip(), zone), **bounds)
        return cls(kind="cron", cron=schedule, **bounds)

    def _schedule_text(self, zone: ZoneInfo) -> str | list[str] | None:
        if self.kind == "none":
            return None
        if self.kind == "every":
            if not self.every:
                raise BadRequestError("give an interval such as 15m, 1h or 90s", "every")
            return f"@every {self.every}"
        if self.kind == "at":
            if not self.at:
                raise BadRequestError("give the date and time of the one run", "at")
            return "@at " + _instant(self.at, zone, "at").isoformat()
        lines = [" ".join(line.split()) for line in self.cron.splitlines() if line.strip()]
        if not lines:
            raise BadRequestError("give a cron line such as 30 2 * * * (02:30 daily)", "cron")
        return lines if len(lines) > 1 else lines[0]

    def changes(self) -> dict[str, Any]:
        """The job JSON fields of this editor (``schedule``, ``timezone``, the bounds);
        raises the 400 naming every bad field of the editor at once."""
        problems: list[Problem] = []
        found: dict[str, Any] = {}
        zone = ZoneInfo("UTC")
        try:
            zone = _zone(self.timezone)
            found["timezone"] = self.timezone
        except BadRequestError as exc:
            problems.extend(exc.problems)
        try:
            found["schedule"] = self._schedule_text(zone)
        except BadRequestError as exc:
            problems.extend(exc.problems)
        for name, text in (("start_date", self.start), ("end_date", self.end)):
            try:
                found[name] = _instant(text, zone, name).isoformat() if text else None
            except BadRequestError as exc:
                problems.extend(exc.problems)
        if self.max_runs and not (self.max_runs.isdigit() and int(self.max_runs) >= 1):
            problems.append(
                Problem("max_executions", "give a whole number of runs, 1 or more", "bad_request")
            )
        else:
            found["max_executions"] = int(self.max_runs) if self.max_runs else None
        if problems:
            raise BadRequestError(problems[0].message, problems[0].field or "", problems)
        return found

    def spec_schedule(self) -> dict[str, Any] | None:
        """``spec.schedule`` as the engine reads it (for the live preview); None: no
        schedule (events only)."""
        changes = self.changes()
        text = changes["schedule"]
        if text is None:
            return None
        data: dict[str, Any] = {"timeZone": changes["timezone"]}
        if isinstance(text, list) or not text.startswith("@"):
            data["cron"] = text
        elif text.startswith("@every "):
            data["every"] = text.removeprefix("@every ")
        else:
            data["at"] = text.removeprefix("@at ")
        for name, key in (("start_date", "startTime"), ("end_date", "endTime")):
            if changes.get(name):
                data[key] = changes[name]
        return data
