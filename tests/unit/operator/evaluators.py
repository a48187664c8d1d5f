"""An in-process evaluator: the same Protocol as the operator's process pool, without
processes (the decisions are tested here; the pool in test_evaluation.py)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from almanac.core.routecheck import RouteCheck, Verdict, evaluate_check


class InlineEvaluator:
    """Evaluates each check at once, in this process; records what it was asked."""

    def __init__(self) -> None:
        self.asked: list[int] = []
        self.closed = False

    async def start(self) -> None:
        return None

    async def evaluate(
        self, event: Mapping[str, Any], checks: Sequence[RouteCheck]
    ) -> list[Verdict]:
        self.asked.append(len(checks))
        return [evaluate_check(check, event) for check in checks]

    async def aclose(self) -> None:
        self.closed = True
