"""One route evaluated on one event, as data: the same verdict in this process and after
a trip through JSON (the evaluator process), failures inside the verdict."""

from __future__ import annotations

import json
from typing import Any

import pytest

from almanac.core.events import MAX_PARAMS_BYTES
from almanac.core.routecheck import RouteCheck, Verdict, check_of, evaluate_check
from almanac.core.triggers import assemble_runs, plan_runs

from .anchors import TOP_OF_HOUR
from .trigger_support import ESCALATE, OPENED, compile_one


def checks() -> dict[str, RouteCheck]:
    trigger = compile_one(**ESCALATE)
    assert trigger.source is not None
    return {
        "start": check_of("start", trigger.source, trigger),
        "cancel": check_of("cancel", trigger.cancel[0], trigger),
        "after": check_of("after", None, compile_one(after={"scheduledJob": "up"})),
    }


def over_the_wire(check: RouteCheck) -> RouteCheck:
    return RouteCheck.from_wire(json.loads(json.dumps(check.to_wire())))


@pytest.mark.parametrize(
    ("role", "event", "verdict"),
    [
        pytest.param(
            "start",
            OPENED,
            Verdict(True, "42", ({"ticket": 42},) * 3),
            id="start-matches-one-params-per-step",
        ),
        pytest.param("start", {**OPENED, "type": "x"}, Verdict(False), id="start-no-match"),
        pytest.param(
            "cancel", {"type": "ticket.resolved", "ticket": 42}, Verdict(True, "42"), id="cancel"
        ),
        pytest.param("after", {"run": "up-1"}, Verdict(True, None, ({},)), id="after-chain"),
    ],
)
def test_the_verdict_is_the_same_after_a_trip_through_json(
    role: str, event: dict[str, Any], verdict: Verdict
) -> None:
    check = checks()[role]
    assert evaluate_check(check, event) == verdict
    assert evaluate_check(over_the_wire(check), event) == verdict
    assert Verdict.from_wire(json.loads(json.dumps(verdict.to_wire()))) == verdict


def test_an_expression_failing_on_the_event_is_a_failed_verdict_naming_the_field() -> None:
    verdict = evaluate_check(checks()["start"], {"type": "ticket.opened"})  # no ticket
    assert not verdict.matched
    assert verdict.field == "spec.triggers[0].kafka.key"
    failure = verdict.failure
    assert failure is not None
    assert "no such key 'ticket'" in failure.message


def test_mapped_params_over_the_cap_fail_naming_the_param() -> None:
    trigger = compile_one(kafka={"topic": "t"}, params={"a": "event.s", "b": "event.s"})
    assert trigger.source is not None
    half = "x" * (MAX_PARAMS_BYTES // 2)
    verdict = evaluate_check(check_of("start", trigger.source, trigger), {"s": half})
    assert verdict.field == "spec.triggers[0].params.b"
    assert verdict.error is not None
    assert f"at most {MAX_PARAMS_BYTES // 1024} KiB" in verdict.error


def test_assembled_runs_are_the_runs_plan_runs_makes() -> None:
    trigger = compile_one(**ESCALATE)
    verdict = evaluate_check(checks()["start"], OPENED)
    assembled = assemble_runs(
        trigger,
        key=verdict.key,
        params=verdict.params,
        scheduled_job="sla",
        uid="u1",
        event_id="evt-1",
        received_at=TOP_OF_HOUR,
    )
    planned = plan_runs(
        trigger,
        event=OPENED,
        scheduled_job="sla",
        uid="u1",
        event_id="evt-1",
        received_at=TOP_OF_HOUR,
    )
    assert assembled == planned
