"""RunRequest admission: only the operator and the REST facade may write one."""

from __future__ import annotations

from typing import Any

import pytest

from almanac.operator.webhook import review
from tests.unit.operator.reviews import FACADE, OPERATOR, admission_review


def run_request_review(username: str, operation: str = "CREATE") -> dict[str, Any]:
    body = admission_review({"scheduledJob": "nightly"}, kind="RunRequest", operation=operation)
    body["request"]["userInfo"] = {"username": username, "groups": ["system:authenticated"]}
    return body


@pytest.mark.parametrize("operation", ["CREATE", "UPDATE"])
def test_a_runrequest_written_by_anyone_but_almanac_is_refused(operation: str) -> None:
    answer = review(run_request_review("mallory", operation), writers=frozenset({OPERATOR}))
    refusal = answer["response"]
    assert refusal["allowed"] is False
    assert refusal["status"]["code"] == 403
    assert (
        "written only by the Almanac operator and the REST facade, not by mallory"
        in (refusal["status"]["message"])
    )


@pytest.mark.parametrize("writer", [OPERATOR, FACADE])
def test_a_runrequest_written_by_the_operator_or_the_facade_is_allowed(writer: str) -> None:
    answer = review(run_request_review(writer), writers=frozenset({OPERATOR, FACADE}))
    assert answer["response"]["allowed"] is True


def test_a_runrequest_status_write_is_not_judged() -> None:
    body = run_request_review("mallory", "UPDATE")
    body["request"]["subResource"] = "status"
    assert review(body, writers=frozenset({OPERATOR}))["response"]["allowed"] is True
