"""``spec.pauseAfterFailures`` on the real stack: a job failing every 5 s is suspended by
the operator after N failed runs, says why (annotation, Ready condition, one Warning
Event), and a resume clears its failure streak."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest

from tests.integration.operator_support import (
    condition,
    module_operator,
    patch_spec,
    scheduled_job,
    status,
    with_script_template,
)
from tests.support import Kubectl, consistently, eventually
from tests.support.operator import OperatorProcess

#: Two runs failing (every 5 s, pods starting in a few seconds) take well under a minute;
#: the margin covers a loaded CI node and the operator's first list.
PAUSED_WITHIN = 120.0
REASON_FIELD = "spec.pauseAfterFailures"


@pytest.fixture(scope="module")
def operator(crds: Kubectl, tmp_path_factory: pytest.TempPathFactory) -> Iterator[OperatorProcess]:
    with module_operator("pause-suite", tmp_path_factory) as replica:
        yield replica


@pytest.fixture
def k(crds: Kubectl, operator: OperatorProcess, namespace: str) -> Kubectl:
    return with_script_template(crds, namespace)


def pause_events(k: Kubectl, name: str) -> list[dict[str, Any]]:
    selector = f"involvedObject.name={name},reason=PausedAfterFailures"
    listed = json.loads(k.run("get", "events", "--field-selector", selector, "-o", "json"))
    return list(listed["items"])


async def test_a_job_failing_every_5s_is_paused_after_two_failures_and_resume_clears_it(
    k: Kubectl,
) -> None:
    k.apply(
        scheduled_job(
            "flaky",
            schedule={"every": "5s"},
            params={"say": "boom", "exit": 3},
            pauseAfterFailures=2,
        )
    )

    def paused() -> dict[str, Any] | None:
        body = k.get("scheduledjob", "flaky")
        return body if body["spec"].get("suspend") is True else None

    body = await eventually(paused, timeout=PAUSED_WITHIN, what="flaky suspended by Almanac")
    reason = body["metadata"]["annotations"]["almanac.dev/suspend-reason"]
    assert REASON_FIELD in reason
    assert "2 consecutive failed runs" in reason

    def suspended_with_reason() -> dict[str, Any] | None:
        ready = condition(k, "flaky", "Ready")
        return ready if ready and ready["reason"] == "Suspended" else None

    ready = await eventually(suspended_with_reason, timeout=30, what="Ready: Suspended")
    assert ready["message"] == reason
    assert status(k, "flaky")["consecutiveFailures"] >= 2
    [event] = await eventually(lambda: pause_events(k, "flaky"), timeout=30, what="the Event")
    assert event["type"] == "Warning"
    assert event["message"] == reason

    # Resume on a far schedule, so no new failure can start another streak meanwhile.
    patch_spec(k, "flaky", {"suspend": False, "schedule": {"every": "1h"}})

    def cleared() -> dict[str, Any] | None:
        current = status(k, "flaky")
        return current if current.get("consecutiveFailures") == 0 else None

    await eventually(cleared, timeout=30, what="the streak cleared by the resume")
    suspended = condition(k, "flaky", "Suspended")
    assert suspended is not None
    assert suspended["status"] == "False"
    await consistently(
        lambda: k.get("scheduledjob", "flaky")["spec"].get("suspend") is False,
        duration=10,
        what="flaky stays resumed",
    )
    assert len(pause_events(k, "flaky")) == 1
