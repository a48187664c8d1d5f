"""The generated CRDs, applied to the real API server: valid ScheduledJobs are accepted
and invalid ones are refused at ``kubectl apply`` with a message naming field and fix."""

from __future__ import annotations

from typing import Any

import pytest

from tests.support import Kubectl, KubectlError


def scheduled_job(name: str, **spec: Any) -> dict[str, Any]:
    return {
        "apiVersion": "almanac.dev/v1alpha1",
        "kind": "ScheduledJob",
        "metadata": {"name": name},
        "spec": {"template": "http", **spec},
    }


VALID: dict[str, dict[str, Any]] = {
    "cron-in-a-zone": {"schedule": {"cron": "30 2 * * *", "timeZone": "Europe/Berlin"}},
    "several-cron-lines": {"schedule": {"cron": ["0 9 * * MON-FRI", "0 12 * * SAT"]}},
    "seconds-cron": {"schedule": {"cron": "*/10 * * * * *"}},
    "every-with-phase": {"schedule": {"every": "30s", "phase": "5s"}},
    "one-time": {"schedule": {"at": "2030-01-01T10:00:00Z"}},
    "bounded": {
        "schedule": {
            "cron": "@hourly",
            "startTime": "2030-01-01T00:00:00Z",
            "endTime": "2030-02-01T00:00:00Z",
            "maxRuns": 5,
        }
    },
    "triggers-only": {"triggers": [{"after": {"scheduledJob": "nightly", "result": "Succeeded"}}]},
}


@pytest.mark.parametrize("name", sorted(VALID))
def test_valid_scheduled_job_is_accepted_with_defaults(
    crds: Kubectl, namespace: str, name: str
) -> None:
    k = crds.in_namespace(namespace)
    k.apply(scheduled_job(name, **VALID[name]))
    spec = k.get("scheduledjob", name)["spec"]
    assert spec["overlapPolicy"] == "Forbid"
    if "schedule" in spec:
        assert spec["schedule"]["timeZone"] == VALID[name]["schedule"].get("timeZone", "UTC")


INVALID: dict[str, tuple[dict[str, Any], str]] = {
    "every-and-at": (
        {"schedule": {"every": "30s", "at": "2030-01-01T10:00:00Z"}},
        "schedule needs exactly one of cron, every or at",
    ),
    "end-before-start": (
        {
            "schedule": {
                "every": "1h",
                "startTime": "2030-02-01T00:00:00Z",
                "endTime": "2030-01-01T00:00:00Z",
            }
        },
        "schedule.endTime must be after schedule.startTime",
    ),
    "zero-max-runs": (
        {"schedule": {"every": "1h", "maxRuns": 0}},
        "spec.schedule.maxRuns in body should be greater than or equal to 1",
    ),
    "zero-interval": (
        {"schedule": {"every": "0s"}},
        "must be a positive duration such as 30s, 1h30m or 2d",
    ),
    "duration-in-words": (
        {"schedule": {"every": "5 minutes"}},
        "spec.schedule.every: Invalid value",
    ),
    "phase-without-every": (
        {"schedule": {"cron": "* * * * *", "phase": "5s"}},
        "schedule.phase only applies to schedule.every",
    ),
    "nothing-to-run-on": ({}, "spec.schedule is required unless spec.triggers lists a trigger"),
    "unknown-overlap-policy": (
        {"schedule": {"every": "1h"}, "overlapPolicy": "Sometimes"},
        'spec.overlapPolicy: Unsupported value: "Sometimes"',
    ),
    "typo-in-field": ({"schedule": {"evry": "1h"}}, 'unknown field "evry"'),
}


@pytest.mark.parametrize("name", sorted(INVALID))
def test_invalid_scheduled_job_is_refused_naming_the_field(
    crds: Kubectl, namespace: str, name: str
) -> None:
    spec, message = INVALID[name]
    k = crds.in_namespace(namespace)
    with pytest.raises(KubectlError) as refused:
        k.apply(scheduled_job(name, **spec))
    assert message in refused.value.stderr
    assert k.list("scheduledjobs") == []


def test_kubectl_get_sj_shows_the_schedule_columns(crds: Kubectl, namespace: str) -> None:
    k = crds.in_namespace(namespace)
    k.apply(scheduled_job("columns", schedule={"cron": "0 2 * * *", "timeZone": "Asia/Tokyo"}))
    header, row = k.run("get", "sj").splitlines()
    assert header.split() == [
        "NAME",
        "SCHEDULE",
        "TZ",
        "SUSPEND",
        "ACTIVE",
        "LAST",
        "RUN",
        "LAST",
        "RESULT",
        "READY",
        "NEXT",
        "RUN",
        "AGE",
    ]
    assert row.split()[:2] == ["columns", "Asia/Tokyo"]
