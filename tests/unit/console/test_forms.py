"""The job form and the schedule editor → the job JSON REST takes; YAML export/import."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from almanac.api.errors import BadRequestError
from almanac.api.schemas import Job
from almanac.console.jobform import JobForm, export_yaml, import_yaml
from almanac.console.scheduleform import ScheduleForm

FIELDS = {
    "name": "Nightly report",
    "type": "command",
    "payload": '{"command": ["echo", "hi"]}',
    "schedule_kind": "cron",
    "cron": "30 2 * * *",
    "timezone": "Europe/Berlin",
    "tags": "reports, nightly",
}


def fields_of(error: BadRequestError) -> list[str | None]:
    return [p.field for p in error.problems]


def test_a_filled_form_is_the_body_post_jobs_takes() -> None:
    assert JobForm.from_fields(FIELDS).create_changes() == {
        "name": "Nightly report",
        "type": "command",
        "payload": {"command": ["echo", "hi"]},
        "schedule": "30 2 * * *",
        "timezone": "Europe/Berlin",
        "tags": ["reports", "nightly"],
    }


SCHEDULES = {
    "an interval": ({"schedule_kind": "every", "every": "15m"}, "@every 15m"),
    "one instant, wall-clock in the zone": (
        {"schedule_kind": "at", "at": "2026-07-01T09:30", "timezone": "Europe/Berlin"},
        "@at 2026-07-01T09:30:00+02:00",
    ),
    "one instant with its own offset": (
        {"schedule_kind": "at", "at": "2026-07-01T09:30:00Z"},
        "@at 2026-07-01T09:30:00+00:00",
    ),
    "two cron lines": ({"cron": "0 1 * * *\n 0  13 * * * "}, ["0 1 * * *", "0 13 * * *"]),
}


@pytest.mark.parametrize(("typed", "schedule"), SCHEDULES.values(), ids=SCHEDULES.keys())
def test_each_schedule_kind(typed: dict[str, str], schedule: object) -> None:
    changes = JobForm.from_fields(FIELDS | typed).create_changes()
    assert changes["schedule"] == schedule


def test_bounds_are_wall_clock_times_in_the_zone() -> None:
    typed = {
        "start_date": "2026-03-30T02:30",
        "end_date": "2026-12-31T23:00",
        "max_executions": "5",
    }
    changes = JobForm.from_fields(FIELDS | typed).create_changes()
    assert changes["start_date"] == datetime(2026, 3, 30, 0, 30, tzinfo=UTC)
    assert changes["end_date"] == datetime(2026, 12, 31, 22, 0, tzinfo=UTC)
    assert changes["max_executions"] == 5


BAD = {
    "a missing name": ({"name": ""}, ["name"]),
    "parameters that are not JSON": ({"payload": "{command"}, ["payload"]),
    "parameters that are a list": ({"payload": "[1]"}, ["payload"]),
    "an unknown time zone": ({"timezone": "Mars/Olympus"}, ["timezone"]),
    "no cron line": ({"cron": " "}, ["cron"]),
    "no interval": ({"schedule_kind": "every", "every": ""}, ["every"]),
    "an instant that is no date": ({"schedule_kind": "at", "at": "tomorrow"}, ["at"]),
    "a wall-clock time the spring jump skips": (
        {"schedule_kind": "at", "at": "2026-03-29T02:30"},
        ["at"],
    ),
    "a bad bound and a bad count at once": (
        {"start_date": "soon", "max_executions": "0"},
        ["start_date", "max_executions"],
    ),
}


@pytest.mark.parametrize(("typed", "named"), BAD.values(), ids=BAD.keys())
def test_every_bad_field_is_named(typed: dict[str, str], named: list[str]) -> None:
    with pytest.raises(BadRequestError) as caught:
        JobForm.from_fields(FIELDS | typed).create_changes()
    assert fields_of(caught.value) == named


def test_an_edit_clears_the_optional_fields_left_empty() -> None:
    changes = JobForm.from_fields(FIELDS | {"tags": "", "description": ""}).edit_changes()
    assert changes["tags"] is None
    assert changes["description"] is None
    assert changes["max_executions"] is None


def test_an_event_only_schedule_keeps_the_schedule_out_of_an_edit() -> None:
    changes = JobForm.from_fields(FIELDS | {"schedule_kind": "none"}).edit_changes()
    assert "schedule" not in changes


def job(**fields: object) -> Job:
    base: dict[str, object] = {
        "id": "uid-1",
        "name": "Nightly",
        "schedule": "30 2 * * *",
        "timezone": "Europe/Berlin",
        "type": "command",
        "payload": {"command": ["true"]},
        "status": "scheduled",
        "last_run": None,
        "resource_name": "nightly-abcde",
        "tags": ["a"],
        "start_date": datetime(2026, 3, 30, 0, 30, tzinfo=UTC),
    }
    return Job.model_validate(base | fields)


def test_a_job_fills_the_form_it_would_post_back_unchanged() -> None:
    form = JobForm.from_job(job())
    assert form.schedule == ScheduleForm(
        kind="cron", cron="30 2 * * *", timezone="Europe/Berlin", start="2026-03-30T02:30"
    )
    changes = form.create_changes()
    assert (changes["schedule"], changes["start_date"]) == (
        "30 2 * * *",
        datetime(2026, 3, 30, 0, 30, tzinfo=UTC),
    )


def test_a_clone_is_named_as_a_copy() -> None:
    assert JobForm.from_job(job(), copy=True).name == "Copy of Nightly"


def test_an_exported_job_imports_as_the_same_job() -> None:
    text = export_yaml(job())
    assert "id:" not in text
    assert "resource_name" not in text
    changes = import_yaml(text)
    assert changes["name"] == "Nightly"
    assert changes["schedule"] == "30 2 * * *"
    assert changes["payload"] == {"command": ["true"]}


IMPORTS = {
    "not YAML": ("name: [", "yaml"),
    "not a mapping": ("- a\n- b\n", "yaml"),
    "an unknown key": ("name: A\ntype: command\nschedul: '0 0 * * *'\n", "schedul"),
    "a bad retry policy": (
        "name: A\ntype: command\nretry_policy: {max_retries: -1}\n",
        "retry_policy.max_retries",
    ),
}


@pytest.mark.parametrize(("text", "field"), IMPORTS.values(), ids=IMPORTS.keys())
def test_an_import_names_the_field_it_refuses(text: str, field: str) -> None:
    with pytest.raises(BadRequestError) as caught:
        import_yaml(text)
    assert caught.value.problems[0].field == field
