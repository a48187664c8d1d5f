"""A restart that changes nothing writes nothing: the status a pass computes from the
status the API server holds (read back as JSON) is that same status, so a new leader's
first pass over an unchanged ScheduledJob has nothing to write (issue #20)."""

from __future__ import annotations

import json
from typing import Any

import pytest

from almanac.core.reconcile import reconcile
from almanac.core.status import RunPhase
from tests.support.reconcile import at, job, snapshot, spec_of

SITUATIONS: dict[str, dict[str, Any]] = {
    "an idle cron job": {},
    "a suspended job": {"spec": spec_of(suspend=True)},
    "a job whose last run succeeded": {"jobs": [job("12:00:00", phase=RunPhase.SUCCEEDED)]},
    "a job whose last run failed": {"jobs": [job("12:00:00", phase=RunPhase.FAILED)]},
    "a job with a run in flight": {"jobs": [job("12:00:00")]},
    "a job past its end": {
        "spec": spec_of(schedule={"cron": "* * * * *", "end": "2026-12-01T11:00:00Z"})
    },
}


@pytest.mark.parametrize("situation", SITUATIONS, ids=list(SITUATIONS))
def test_a_second_pass_over_the_stored_status_computes_the_same_status(situation: str) -> None:
    given = SITUATIONS[situation]
    first = reconcile(snapshot(**given), at("12:00:30")).status
    stored = json.loads(json.dumps(first))  # as the API server gives it back
    again = reconcile(snapshot(**given, status=stored), at("12:00:40")).status
    assert again == stored
