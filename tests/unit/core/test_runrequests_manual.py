"""Run-now through REST is a RunRequest named from its idempotency key: asking again with
the key names the same request (and run), other keys queue side by side."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from almanac.core.runrequests import launch_of, manual_request
from almanac.core.runs import job_name_of
from almanac.core.status import TriggerKind

NOW = datetime(2026, 12, 1, 12, 0, 30, 123456, tzinfo=UTC)


def test_one_key_one_request_and_one_run() -> None:
    first, spec = manual_request("report", "uid-1", "k1", NOW)
    again, _ = manual_request("report", "uid-1", "k1", NOW + timedelta(minutes=5))
    other, _ = manual_request("report", "uid-1", "k2", NOW)
    assert first == again
    assert first != other
    run = launch_of(first, spec)
    assert run.trigger is TriggerKind.MANUAL
    assert run.slot == NOW.replace(microsecond=0)
    assert job_name_of("report", "uid-1", run).startswith("report-20261201120030-m")


def test_the_same_key_on_another_job_is_another_request() -> None:
    assert (
        manual_request("report", "uid-1", "k1", NOW)[0]
        != manual_request("report", "uid-2", "k1", NOW)[0]
    )
