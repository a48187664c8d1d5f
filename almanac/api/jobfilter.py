"""Which of an organisation's jobs ``GET /jobs`` lists, and in what order.

Pure: the facade lists the namespace's ScheduledJobs (from its watched copy) and this picks
and sorts them, so every filter is tested without a cluster. Filters combine with "and";
text filters compare without case, as a person searching a list expects.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

from almanac.api.mapping import display_name, job_status, job_view, type_for
from almanac.api.schemas import Job, JobStatus
from almanac.core.vocabulary import ANNOTATION_CREATED_BY

__all__ = ["JobFilter", "SortKey", "select_jobs", "select_objects"]

SortKey = Literal["created", "name", "next_run"]


@dataclass(frozen=True)
class JobFilter:
    """The query of ``GET /jobs`` (``None``: no condition on that field)."""

    status: JobStatus | None = None
    name: str | None = None
    name_contains: str | None = None
    type: str | None = None
    created_by: str | None = None
    created_after: datetime | None = None
    created_before: datetime | None = None
    #: Any of these tags (seed 004's ``tags``) / all of them (``tags_all``).
    tags: frozenset[str] = frozenset()
    tags_all: frozenset[str] = frozenset()
    next_run_after: datetime | None = None
    next_run_before: datetime | None = None
    sort: SortKey = "created"
    descending: bool = False

    def keeps(self, obj: Mapping[str, Any]) -> bool:
        meta = obj.get("metadata") or {}
        shown = display_name(obj)
        created = _created(meta)
        tags = set((obj.get("spec") or {}).get("tags") or ())
        next_run = _instant((obj.get("status") or {}).get("nextRunTime"))
        checks = (
            self.status is None or job_status(obj) == self.status,
            self.name is None or shown == self.name,
            self.name_contains is None or self.name_contains.casefold() in shown.casefold(),
            self.type is None
            or type_for(str((obj.get("spec") or {}).get("template", ""))) == self.type,
            self.created_by is None
            or (meta.get("annotations") or {}).get(ANNOTATION_CREATED_BY) == self.created_by,
            self.created_after is None or (created is not None and created >= self.created_after),
            self.created_before is None or (created is not None and created < self.created_before),
            not self.tags or bool(self.tags & tags),
            self.tags_all <= tags,
            self.next_run_after is None
            or (next_run is not None and next_run >= self.next_run_after),
            self.next_run_before is None
            or (next_run is not None and next_run < self.next_run_before),
        )
        return all(checks)


def _created(meta: Mapping[str, Any]) -> datetime | None:
    return _instant(meta.get("creationTimestamp"))


def _instant(text: Any) -> datetime | None:
    if not isinstance(text, str):
        return None
    try:
        return datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None


def select_jobs(objects: Iterable[Mapping[str, Any]], query: JobFilter) -> list[Job]:
    """The jobs ``query`` keeps, sorted by its key (ties by object name, so pages are
    stable across requests)."""
    return [job_view(o) for o in select_objects(objects, query)]


def select_objects(
    objects: Iterable[Mapping[str, Any]], query: JobFilter
) -> list[Mapping[str, Any]]:
    """The objects :func:`select_jobs` shows, in its order, not yet mapped: a caller that
    shows one page of a thousand jobs maps only that page (the mapping dominates)."""
    kept = [o for o in objects if query.keeps(o)]

    def key(obj: Mapping[str, Any]) -> tuple[str, str]:
        meta = obj.get("metadata") or {}
        if query.sort == "name":
            first = display_name(obj).casefold()
        elif query.sort == "next_run":
            # RFC 3339 UTC text sorts as time; jobs with no next run come last.
            first = str((obj.get("status") or {}).get("nextRunTime") or "~")
        else:
            first = str(meta.get("creationTimestamp", ""))
        return first, str(meta.get("name", ""))

    kept.sort(key=key, reverse=query.descending)
    return kept
