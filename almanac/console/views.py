"""What the console's pages show, computed from the service's answers. Pure.

The pages are thin: a route asks the REST service (tenancy, filters, roles all happen
there) and hands its answer to one of these functions, which decide what a person sees:
a schedule in words, the last result in a word, which buttons a role gets, the page links.
Keeping them here lets the unit tests check every rule without a browser.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Final, get_args
from urllib.parse import urlencode

from almanac.api.errors import ApiError, Problem
from almanac.api.identity import Identity
from almanac.api.jobfilter import JobFilter
from almanac.api.roles import Role, RolePolicy
from almanac.api.schemas import Job, JobStatus
from almanac.console.words import describe_schedule
from almanac.core.status import RunPhase
from almanac.notify.formats import run_status

__all__ = [
    "PAGE_SIZE",
    "FieldErrors",
    "JobRow",
    "ListQuery",
    "Pages",
    "can_change",
    "editor_errors",
    "field_errors",
    "job_row",
    "last_result",
    "role_name",
    "when",
]

#: Jobs on one page of the list.
PAGE_SIZE: Final = 50
STATUSES: Final[tuple[str, ...]] = get_args(JobStatus)


def when(instant: datetime | str | None) -> str:
    """An instant as the pages print it: UTC, to the minute (``2026-03-02 12:00 UTC``)."""
    if instant is None or instant == "":
        return "—"
    if isinstance(instant, str):
        instant = datetime.fromisoformat(instant.replace("Z", "+00:00"))
    return instant.strftime("%Y-%m-%d %H:%M %Z").replace("+00:00", "UTC")


def last_result(obj: Mapping[str, Any]) -> str:
    """The word for the job's latest finished run (``completed``, ``failed``...), or "—"."""
    phase = ((obj.get("status") or {}).get("lastRun") or {}).get("phase")
    try:
        return run_status(RunPhase(str(phase)))
    except ValueError:
        return "—"


def can_change(roles: RolePolicy, who: Identity, obj: Mapping[str, Any]) -> bool:
    """Whether the service would let ``who`` change ``obj``: the same check it runs."""
    try:
        roles.check_change(who, obj, "change")
    except ApiError:
        return False
    return True


@dataclass(frozen=True)
class JobRow:
    """One line of the jobs list."""

    id: str
    name: str
    status: str
    schedule: str
    schedule_text: str
    type: str
    next_run: str
    last_result: str
    tags: tuple[str, ...]


def job_row(job: Job, obj: Mapping[str, Any] | None) -> JobRow:
    text = job.schedule if not isinstance(job.schedule, list) else "; ".join(job.schedule)
    return JobRow(
        id=job.id,
        name=job.name,
        status=job.status,
        schedule=describe_schedule(job.schedule, job.timezone),
        schedule_text=text or "",
        type=job.type,
        next_run=when(job.next_run),
        last_result=last_result(obj or {}),
        tags=tuple(job.tags or ()),
    )


@dataclass(frozen=True)
class ListQuery:
    """The jobs list's search box and filters, as the query string carries them."""

    q: str = ""
    template: str = ""
    status: str = ""
    tag: str = ""
    page: int = 1

    @classmethod
    def parse(cls, params: Mapping[str, str]) -> ListQuery:
        """Lenient: an unknown status or a bad page number is dropped, not an error page
        (it came from an edited URL); the filter form shows what is applied."""
        page = params.get("page", "1")
        status = params.get("status", "")
        return cls(
            q=params.get("q", "").strip()[:253],
            template=params.get("template", "").strip()[:253],
            status=status if status in STATUSES else "",
            tag=params.get("tag", "").strip()[:253],
            page=int(page) if page.isdigit() and 0 < int(page) < 100_000 else 1,
        )

    def job_filter(self) -> JobFilter:
        tags = frozenset(t.strip() for t in self.tag.split(",") if t.strip())
        return JobFilter(
            status=self.status or None,  # type: ignore[arg-type]
            name_contains=self.q or None,
            type=self.template or None,
            tags=tags,
            sort="name",
        )

    def link(self, page: int) -> str:
        kept = {"q": self.q, "template": self.template, "status": self.status, "tag": self.tag}
        query = {k: v for k, v in kept.items() if v} | ({"page": str(page)} if page > 1 else {})
        return "?" + urlencode(query) if query else "?"


@dataclass(frozen=True)
class Pages:
    """Where a page of ``total`` items starts and which neighbours it links to."""

    page: int
    total: int
    size: int = PAGE_SIZE

    @property
    def last(self) -> int:
        return max(1, -(-self.total // self.size))

    @property
    def current(self) -> int:
        return min(self.page, self.last)

    @property
    def offset(self) -> int:
        return (self.current - 1) * self.size

    @property
    def previous(self) -> int | None:
        return self.current - 1 if self.current > 1 else None

    @property
    def next(self) -> int | None:
        return self.current + 1 if self.current < self.last else None


class FieldErrors(dict[str, list[str]]):
    """Messages by form field; ``""`` holds those that belong to no field."""

    def of(self, name: str) -> list[str]:
        return self.get(name, [])

    @property
    def count(self) -> int:
        return sum(len(v) for v in self.values())


def field_errors(error: ApiError, fields: tuple[str, ...]) -> FieldErrors:
    """The error's problems by the form field they belong to: the longest of ``fields``
    that the problem's field is or starts (``payload.url`` → ``payload``), else ``""``."""
    found = FieldErrors()
    problems: tuple[Problem, ...] = error.problems
    for problem in problems:
        name = problem.field or ""
        owner = max(
            (f for f in fields if name == f or name.startswith((f + ".", f + "["))),
            key=len,
            default="",
        )
        message = problem.message if owner in ("", name) else f"{name}: {problem.message}"
        found.setdefault(owner, []).append(message)
    return found


def editor_errors(error: ApiError | None) -> list[dict[str, str]]:
    """The refused parameters as the generated form's paths, for it to show each message
    on its field: the form's root is named ``payload`` (its inputs post as
    ``payload[...]``), so a problem's field is the path once indices are dotted
    (``payload.sources[0].name`` → ``payload.sources.0.name``)."""
    if error is None:
        return []
    return [
        {"path": re.sub(r"\[(\d+)\]", r".\1", p.field or ""), "message": p.message}
        for p in error.problems
        if (p.field or "").startswith("payload.")
    ]


def role_name(roles: RolePolicy, who: Identity) -> str:
    """The role as the page header says it (a reader is a "viewer" to people)."""
    return {Role.ADMIN: "admin", Role.MEMBER: "member", Role.READER: "viewer"}[roles.role_of(who)]
