"""Admission of ``spec.priority``: a class that does not exist is refused naming the field
(one read of the cluster's classes, only for jobs that name one); system classes and a
second way of naming the class are refused by the spec check itself."""

from __future__ import annotations

import json
from typing import Any

from almanac.operator.launchgate import PriorityClasses
from almanac.operator.webhook import respond

from .reviews import admission_review

SPEC = {"template": "command", "params": {"command": ["true"]}, "schedule": {"cron": "* * * * *"}}


class Classes:
    def __init__(self) -> None:
        self.reads = 0

    async def __call__(self) -> tuple[dict[str, int], int]:
        self.reads += 1
        return {"batch-high": 1000}, 0


async def answer(spec: dict[str, Any], classes: Classes) -> dict[str, Any]:
    raw = json.dumps(admission_review(spec)).encode()
    status, body = await respond(raw, priorities=PriorityClasses(classes).exists)
    assert status == 200
    result: dict[str, Any] = body["response"]
    return result


def causes(result: dict[str, Any]) -> list[tuple[str, str]]:
    return [(c["field"], c["message"]) for c in result["status"]["details"]["causes"]]


async def test_an_existing_class_is_allowed() -> None:
    assert (await answer(SPEC | {"priority": "batch-high"}, Classes()))["allowed"] is True


async def test_a_missing_class_is_refused_naming_spec_priority() -> None:
    result = await answer(SPEC | {"priority": "urgent"}, Classes())
    assert result["allowed"] is False
    [(field, message)] = causes(result)
    assert field == "spec.priority"
    assert "no PriorityClass named 'urgent'" in message


async def test_jobs_without_a_priority_read_nothing() -> None:
    classes = Classes()
    assert (await answer(SPEC, classes))["allowed"] is True
    assert classes.reads == 0


async def test_a_system_class_is_refused_before_any_read() -> None:
    classes = Classes()
    result = await answer(SPEC | {"priority": "system-node-critical"}, classes)
    assert result["allowed"] is False
    assert [field for field, _ in causes(result)] == ["spec.priority"]
    assert classes.reads == 0
