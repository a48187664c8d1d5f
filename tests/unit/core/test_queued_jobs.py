"""A run held by a limit is a Job created suspended with the queue's mark: built so, read
back as a queued run (Pending, not active, no start: queue time is not run time), and read
as an ordinary run once released. And ``spec.priority``: the run pods' PriorityClass,
refused where it would be unsafe or ambiguous."""

from __future__ import annotations

from typing import Any

import pytest

from almanac.core.errors import InvalidSpecError
from almanac.core.resource import parse_spec
from almanac.core.runs import RunRequest, build_job, observe_job
from almanac.core.status import RunPhase
from almanac.core.templates import JobTemplateSpec
from tests.support.reconcile import at, iso, spec_of

TEMPLATE = JobTemplateSpec(image="img", command=["run"])
RUN = RunRequest(at("12:00"))


def built(spec: dict[str, Any] | None = None, **options: Any) -> dict[str, Any]:
    return build_job(
        name="report",
        namespace="team-a",
        uid="uid-1",
        spec=parse_spec(spec or spec_of()),
        run=RUN,
        template=TEMPLATE,
        **options,
    )


def as_stored(body: dict[str, Any], **status: Any) -> dict[str, Any]:
    """The Job as the API server returns it a moment later."""
    meta = body["metadata"] | {"creationTimestamp": iso("12:00:01")}
    return body | {"metadata": meta, "status": status}


def test_a_queued_run_is_created_suspended_and_marked() -> None:
    body = built(queued="namespace", priority=1000)
    assert body["spec"]["suspend"] is True
    assert body["metadata"]["labels"]["almanac.dev/queued"] == "true"
    assert "almanac.dev/queued" not in body["spec"]["template"]["metadata"]["labels"]
    notes = body["metadata"]["annotations"]
    assert (notes["almanac.dev/queued-reason"], notes["almanac.dev/priority"]) == (
        "namespace",
        "1000",
    )


def test_a_run_that_starts_is_created_as_before() -> None:
    body = built()
    assert "suspend" not in body["spec"]
    assert "almanac.dev/queued" not in body["metadata"]["labels"]
    assert "almanac.dev/queued-reason" not in body["metadata"]["annotations"]


def test_a_queued_job_reads_as_a_queued_run_with_no_start() -> None:
    seen = observe_job(as_stored(built(queued="launchRate", priority=7)))
    assert seen is not None
    assert (seen.phase, seen.suspended, seen.active, seen.finished) == (
        RunPhase.PENDING,
        True,
        False,
        False,
    )
    assert (seen.queued, seen.priority, seen.start_time) == ("launchRate", 7, None)
    assert seen.queued_at == at("12:00:01")


def test_a_released_job_starts_when_kubernetes_starts_it() -> None:
    body = as_stored(built(queued="namespace"))
    del body["metadata"]["labels"]["almanac.dev/queued"]
    body["spec"]["suspend"] = False
    waiting = observe_job(body)
    assert waiting is not None
    assert (waiting.queued, waiting.suspended, waiting.active) == (None, False, True)
    assert waiting.start_time is None  # not its creation: that was queue time
    running = observe_job(body | {"status": {"startTime": iso("12:05"), "active": 1}})
    assert running is not None
    assert (running.phase, running.start_time) == (RunPhase.RUNNING, at("12:05"))


def test_a_job_suspended_by_hand_is_idle_not_queued() -> None:
    body = as_stored(built())
    body["spec"]["suspend"] = True
    seen = observe_job(body)
    assert seen is not None
    assert (seen.suspended, seen.queued, seen.active) == (True, None, False)


def test_spec_priority_is_the_run_pods_priority_class() -> None:
    pod = built(spec_of(priority="batch-high"))["spec"]["template"]["spec"]
    assert pod["priorityClassName"] == "batch-high"


@pytest.mark.parametrize(
    ("fields", "field", "words"),
    [
        pytest.param(
            {"priority": "system-cluster-critical"},
            "spec.priority",
            "system PriorityClass",
            id="system-class",
        ),
        pytest.param(
            {"priority": "high", "podTemplate": {"priorityClassName": "low"}},
            "spec.podTemplate.priorityClassName",
            "keep spec.priority",
            id="both-ways",
        ),
        pytest.param({"priority": "Not_A_Name"}, "spec.priority", "", id="not-a-name"),
        pytest.param({"maxConcurrentRuns": 0}, "spec.maxConcurrentRuns", "", id="zero-runs"),
    ],
)
def test_refused_priorities_name_the_field(fields: dict[str, Any], field: str, words: str) -> None:
    with pytest.raises(InvalidSpecError) as refused:
        parse_spec(spec_of(**fields))
    [problem] = refused.value.problems
    assert problem.field == field
    assert words in problem.message


def test_a_plain_class_and_a_run_limit_are_accepted() -> None:
    spec = parse_spec(spec_of(priority="batch-high", maxConcurrentRuns=3, overlapPolicy="Allow"))
    assert (spec.priority, spec.max_concurrent_runs) == ("batch-high", 3)
