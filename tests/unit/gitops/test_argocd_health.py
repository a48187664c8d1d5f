"""The Argo CD health check maps the operator's conditions to Healthy / Progressing /
Degraded / Suspended, so an Argo CD Application of ScheduledJobs shows their real state."""

from __future__ import annotations

from typing import Any

import pytest

from tests.unit.gitops.argocd import health


def condition(kind: str, status: bool, reason: str = "", message: str = "") -> dict[str, str]:
    return {"type": kind, "status": str(status), "reason": reason, "message": message}


def scheduled_job(*conditions: dict[str, str], generation: int = 1, observed: int = 1) -> Any:
    return {
        "apiVersion": "almanac.dev/v1alpha1",
        "kind": "ScheduledJob",
        "metadata": {"name": "nightly", "namespace": "team-a", "generation": generation},
        "spec": {"template": "command", "schedule": {"cron": "0 2 * * *"}},
        "status": {"observedGeneration": observed, "conditions": list(conditions)},
    }


SCHEDULING = condition("Ready", True, "Scheduled", "next run 2026-12-02T02:00:00Z")
VALID = condition("InvalidSpec", False, "Valid")
RUNNING = condition("Suspended", False, "Running")
HEALTHY = condition("Degraded", False, "Healthy")


@pytest.mark.parametrize(
    ("obj", "status", "message"),
    [
        pytest.param(
            scheduled_job(SCHEDULING, RUNNING, VALID, HEALTHY),
            "Healthy",
            "next run 2026-12-02T02:00:00Z",
            id="ready-and-scheduling",
        ),
        pytest.param(
            scheduled_job(
                condition("Ready", False, "Complete", "bounded schedule finished"),
                condition("Complete", True, "Complete"),
                RUNNING,
                VALID,
            ),
            "Healthy",
            "Complete",
            id="bounded-job-complete",
        ),
        pytest.param(
            scheduled_job(
                condition("Ready", False, "Suspended", "maintenance window"),
                condition("Suspended", True, "Suspended", "maintenance window"),
                VALID,
            ),
            "Suspended",
            "maintenance window",
            id="suspended-with-reason",
        ),
        pytest.param(
            scheduled_job(
                condition("Ready", False, "InvalidSpec", "spec.schedule.timeZone: unknown"),
                condition("InvalidSpec", True, "InvalidSpec", "spec.schedule.timeZone: unknown"),
            ),
            "Degraded",
            "spec.schedule.timeZone: unknown",
            id="invalid-spec",
        ),
        pytest.param(
            scheduled_job(
                condition("Ready", False, "TemplateNotFound", "no JobTemplate named 'x'"),
                RUNNING,
                VALID,
            ),
            "Degraded",
            "no JobTemplate named 'x'",
            id="template-missing",
        ),
        pytest.param(
            scheduled_job(
                SCHEDULING, condition("Degraded", True, "HistoryUnavailable", "postgres down")
            ),
            "Degraded",
            "postgres down",
            id="degraded-condition",
        ),
        pytest.param(
            scheduled_job(SCHEDULING, generation=3, observed=2),
            "Progressing",
            "Waiting for the operator to observe generation 3",
            id="spec-edit-not-yet-observed",
        ),
        pytest.param(
            scheduled_job(VALID),
            "Progressing",
            "Waiting for the Ready condition",
            id="no-ready-condition-yet",
        ),
    ],
)
def test_health_follows_the_status_conditions(obj: Any, status: str, message: str) -> None:
    assert health(obj) == (status, message)


def test_object_without_status_is_progressing() -> None:
    obj = scheduled_job()
    del obj["status"]
    assert health(obj) == (
        "Progressing",
        "Waiting for the Almanac operator to report status",
    )
