"""The create/edit form ↔ the job JSON the REST service takes, and YAML export/import. Pure.

The form posts plain fields; they become exactly the body ``POST /jobs`` (or ``PATCH``)
would carry and go through the same pydantic models, so the console accepts and refuses
what REST does, and names the same fields. The parameters arrive as JSON text: the page's
JSON Editor (generated from the template's schema) writes it into the ``payload`` field,
and without JavaScript a person types it there.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Final

import yaml
from pydantic import BaseModel, ValidationError

from almanac.api.errors import BadRequestError, Problem
from almanac.api.schemas import Job, JobInput, JobPatch
from almanac.console.scheduleform import ScheduleForm
from almanac.core.resource import format_location

__all__ = ["FORM_FIELDS", "JobForm", "editor_schema", "export_yaml", "import_yaml"]

#: The fields errors are shown next to (everything else goes to the form's summary).
FORM_FIELDS: Final = (
    "name",
    "description",
    "tags",
    "type",
    "payload",
    "schedule",
    "cron",
    "every",
    "at",
    "timezone",
    "start_date",
    "end_date",
    "max_executions",
)
#: What an export leaves out: what the API server or the operator sets, not the author.
_READ_ONLY: Final = (
    "id",
    "status",
    "last_run",
    "next_run",
    "resource_name",
    "created_by",
    "created_at",
)
_MAX_IMPORT: Final = 256 * 1024


def _problems(exc: ValidationError, prefix: str = "") -> list[Problem]:
    found: list[Problem] = []
    for item in exc.errors():
        loc = tuple(p for p in item.get("loc", ()) if not (isinstance(p, str) and "[" in p))
        name = format_location(loc, prefix) or prefix or "body"
        found.append(Problem(name, str(item.get("msg", "invalid")), "bad_request"))
    return found


def validated(model: type[BaseModel], body: Mapping[str, Any], prefix: str = "") -> dict[str, Any]:
    """``body`` through ``model`` (the REST route's own), as the route would dump it."""
    try:
        parsed = model.model_validate(body)
    except ValidationError as exc:
        problems = _problems(exc, prefix)
        raise BadRequestError(problems[0].message, problems[0].field or "", problems) from None
    if isinstance(parsed, JobPatch):
        return parsed.model_dump(exclude_unset=True)
    return parsed.model_dump(exclude_none=True)


@dataclass(frozen=True)
class JobForm:
    """The form's fields as typed (re-shown as they were when the server refuses them)."""

    name: str = ""
    description: str = ""
    tags: str = ""
    type: str = ""
    payload: str = "{}"
    schedule: ScheduleForm = field(default_factory=ScheduleForm)

    @classmethod
    def from_fields(cls, fields: Mapping[str, str]) -> JobForm:
        return cls(
            name=fields.get("name", "").strip(),
            description=fields.get("description", "").strip(),
            tags=fields.get("tags", "").strip(),
            type=fields.get("type", "").strip(),
            payload=fields.get("payload", "").strip() or "{}",
            schedule=ScheduleForm.from_fields(fields),
        )

    @classmethod
    def from_job(cls, job: Job, *, copy: bool = False) -> JobForm:
        """Filled from a job; ``copy`` names it as its clone."""
        return cls(
            name=f"Copy of {job.name}"[:253] if copy else job.name,
            description=job.description or "",
            tags=", ".join(job.tags or ()),
            type=job.type,
            payload=json.dumps(job.payload, indent=2, sort_keys=True),
            schedule=ScheduleForm.from_job(job),
        )

    def _payload(self) -> dict[str, Any]:
        try:
            value = json.loads(self.payload)
        except json.JSONDecodeError as exc:
            raise BadRequestError(
                f"is not valid JSON ({exc.msg} at line {exc.lineno}); fix the parameters",
                "payload",
            ) from None
        if not isinstance(value, dict):
            raise BadRequestError("must be a JSON object of the template's parameters", "payload")
        return value

    def body(self) -> dict[str, Any]:
        """The job JSON this form describes (every field the form has, clearing the
        optional ones left empty); raises the 400 naming every bad field."""
        problems: list[Problem] = []
        body: dict[str, Any] = {
            "name": self.name,
            "type": self.type,
            "description": self.description or None,
            "tags": [t.strip() for t in self.tags.split(",") if t.strip()] or None,
        }
        try:
            body["payload"] = self._payload()
        except BadRequestError as exc:
            problems.extend(exc.problems)
        try:
            body.update(self.schedule.changes())
        except BadRequestError as exc:
            problems.extend(exc.problems)
        if problems:
            raise BadRequestError(problems[0].message, problems[0].field or "", problems)
        return body

    def create_changes(self) -> dict[str, Any]:
        """What ``POST /jobs`` would pass to the service for this form."""
        body = {k: v for k, v in self.body().items() if v is not None}
        return validated(JobInput, body)

    def edit_changes(self) -> dict[str, Any]:
        """What ``PATCH /jobs/{id}`` would pass: every field, empty optional ones cleared
        (a schedule of "none" turns the job into one run by its events only)."""
        body = self.body()
        if body.get("schedule") is None:
            body.pop("schedule", None)
            if self.schedule.kind != "none":
                raise BadRequestError("give the schedule", "schedule")
        return validated(JobPatch, body)


#: Keywords JSON Editor cannot draw as one form (it draws a hidden form per branch); the
#: server still checks them, and names the field they refuse.
_UNDRAWN: Final = frozenset({"if", "then", "else", "$schema"})


def editor_schema(schema: Any) -> Any:
    """The template's params schema as the page's form draws it: without conditional
    branches, which only the server's check applies."""
    if isinstance(schema, dict):
        return {k: editor_schema(v) for k, v in schema.items() if k not in _UNDRAWN}
    if isinstance(schema, list):
        return [editor_schema(v) for v in schema]
    return schema


def export_yaml(job: Job) -> str:
    """The job as YAML that :func:`import_yaml` (and ``POST /jobs``) takes back."""
    data = {k: v for k, v in job.model_dump(mode="json", exclude_none=True).items()}
    for key in _READ_ONLY:
        data.pop(key, None)
    return yaml.safe_dump(data, sort_keys=False, allow_unicode=True)


def import_yaml(text: str) -> dict[str, Any]:
    """A job body from YAML, checked as ``POST /jobs`` checks its JSON body; the fields
    that came back from an export's read-only part are dropped, not refused."""
    if len(text.encode()) > _MAX_IMPORT:
        raise BadRequestError(f"is over {_MAX_IMPORT // 1024} KiB; import one job", "yaml")
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        raise BadRequestError(
            f"is not valid YAML{where}; fix it and import again", "yaml"
        ) from None
    if not isinstance(data, dict):
        raise BadRequestError("must be one job: a mapping with name, type, schedule...", "yaml")
    body = {k: v for k, v in data.items() if k not in _READ_ONLY}
    return validated(JobInput, body)
