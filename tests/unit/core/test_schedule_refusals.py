"""A schedule spec that cannot run: refusals naming the field, plus its one-line summary."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from almanac.core import (
    InvalidScheduleError,
    InvalidSpecError,
    ScheduleNeverFiresError,
    compile_schedule,
    parse_schedule,
    summarize_schedule,
)
from tests.unit.core.anchors import TOP_OF_HOUR, compiled

# -- refusals --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("schedule", "field", "code"),
    [
        pytest.param(
            {"cron": "0 0 * * *", "every": "1h"},
            "spec.schedule",
            "invalid_schedule",
            id="cron-and-every",
        ),
        pytest.param({"timeZone": "UTC"}, "spec.schedule", "invalid_schedule", id="none"),
        pytest.param(
            {"every": "500ms"}, "spec.schedule.every", "invalid_schedule", id="every-below-1s"
        ),
        pytest.param({"every": "-1s"}, "spec.schedule.every", "invalid_duration", id="negative"),
        pytest.param({"every": "0s"}, "spec.schedule.every", "invalid_duration", id="zero"),
        pytest.param(
            {"cron": "0 0 * * *", "phase": "1s"},
            "spec.schedule.phase",
            "invalid_schedule",
            id="phase-without-every",
        ),
        pytest.param(
            {"cron": "0 0 * * *", "timeZone": "Mars/Olympus"},
            "spec.schedule.timeZone",
            "unknown_time_zone",
            id="unknown-zone",
        ),
        pytest.param(
            {"cron": "0 0 * * *", "timeZone": "../etc/passwd"},
            "spec.schedule.timeZone",
            "unknown_time_zone",
            id="path-zone",
        ),
        pytest.param(
            {"cron": ["0 0 * * *", "0 0 30 2 *"]},
            "spec.schedule.cron[1]",
            "schedule_never_fires",
            id="never-fires-second-line",
        ),
        pytest.param({"cron": []}, "spec.schedule.cron", "invalid_schedule", id="empty-list"),
        pytest.param(
            {
                "cron": "0 0 * * *",
                "startTime": "2026-02-01T00:00:00Z",
                "endTime": "2026-01-01T00:00:00Z",
            },
            "spec.schedule.endTime",
            "invalid_schedule",
            id="end-before-start",
        ),
        pytest.param(
            {"cron": "0 0 * * *", "maxRuns": 0},
            "spec.schedule.maxRuns",
            "invalid_input",
            id="max-runs-zero",
        ),
        pytest.param(
            {"at": "2026-01-01T00:00:00"}, "spec.schedule.at", "naive_datetime", id="naive-at"
        ),
        pytest.param(
            {
                "cron": "0 0 1 1 *",
                "startTime": "2026-01-01T00:00:01Z",
                "endTime": "2026-12-31T00:00:00Z",
            },
            "spec.schedule",
            "schedule_never_fires",
            id="no-slot-between-bounds",
        ),
        pytest.param(
            {"at": "2026-01-01T00:00:00Z", "startTime": "2026-02-01T00:00:00Z"},
            "spec.schedule",
            "schedule_never_fires",
            id="at-before-start",
        ),
    ],
)
def test_bad_schedules_are_refused_naming_the_field(
    schedule: dict[str, object], field: str, code: str
) -> None:
    with pytest.raises(InvalidSpecError) as caught:
        parse_schedule(schedule)
    problem = caught.value.problems[0]
    assert (problem.field, problem.code) == (field, code), str(problem)


def test_compile_schedule_rechecks_semantics_for_direct_callers() -> None:
    schedule = parse_schedule({"every": "1h"}).model_copy(update={"at": TOP_OF_HOUR})
    with pytest.raises(InvalidScheduleError, match="exactly one"):
        compile_schedule(schedule)


def test_never_fires_is_refused_quickly() -> None:
    with pytest.raises(ScheduleNeverFiresError):
        compile_schedule(
            parse_schedule({"cron": "0 0 * * *"}).model_copy(update={"cron": "0 0 31 2 *"})
        )


@pytest.mark.parametrize(
    ("schedule", "summary"),
    [
        ({"cron": "0  2 * * *"}, "0 2 * * *"),
        ({"cron": ["0 2 * * *", "@hourly"]}, "0 2 * * *; @hourly"),
        ({"every": "30s"}, "every 30s"),
        ({"every": "1h", "phase": "5m"}, "every 1h +5m"),
        ({"at": "2026-12-01T10:00:00+01:00"}, "at 2026-12-01T09:00:00Z"),
    ],
)
def test_summarize_schedule_for_printer_column(schedule: dict[str, object], summary: str) -> None:
    assert summarize_schedule(parse_schedule(schedule)) == summary
    assert summarize_schedule(None) == "triggers only"


def test_naive_after_is_refused() -> None:
    with pytest.raises(ValueError, match="no UTC offset"):
        compiled(every="1h").next_after(datetime(2026, 1, 1))
    assert compiled(every="1h").next_after(datetime(2026, 1, 1, tzinfo=UTC)) is not None
