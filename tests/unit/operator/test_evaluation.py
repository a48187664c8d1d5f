"""Trigger expressions in worker processes: answered in order, cut at the deadline without
holding the event loop, a dead process fails only its check, and a pool with no free
process answers "busy" instead of waiting. Real processes (``python -m
almanac.operator.celworker``, or a tiny stand-in script where a misbehaving one is needed).
"""

from __future__ import annotations

import asyncio
import io
import json
import sys
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any, TypeVar

import pytest

from almanac.core.events import KafkaMatcher
from almanac.core.expressions import compile_expression
from almanac.core.routecheck import RouteCheck
from almanac.operator.celworker import serve
from almanac.operator.evaluation import EvaluatorPool

T = TypeVar("T")
FIELD = "spec.triggers[0].kafka"
#: One comprehension (admission allows it) that this CEL library runs in quadratic time:
#: 7 s over the 16,000 numbers a 32 KiB event can hold.
HEAVY = "size(event.items.map(b, b)) > 0"
BIG_EVENT = {"id": "big", "type": "order", "items": [1] * 16_000}


def check(filter_: str, role: str = "cancel") -> RouteCheck:
    matcher = KafkaMatcher("t", compile_expression(filter_, f"{FIELD}.filter"), None, FIELD)
    return RouteCheck("cancel" if role == "cancel" else "start", matcher)


def script(body: str) -> list[str]:
    """A stand-in evaluator process: says it is ready, then runs ``body``."""
    return [sys.executable, "-c", f"import sys\nprint('{{\"ready\": true}}', flush=True)\n{body}"]


@pytest.fixture
async def pools() -> AsyncIterator[list[EvaluatorPool]]:
    made: list[EvaluatorPool] = []
    yield made
    for pool in made:
        await pool.aclose()


async def timed(work: Callable[[], Awaitable[T]], tick: float = 0.01) -> tuple[T, float, float]:
    """``work``'s result, its duration, and the event loop's longest stall meanwhile."""
    stall = 0.0
    done = asyncio.Event()

    async def ticker() -> None:
        nonlocal stall
        while not done.is_set():
            before = time.monotonic()
            await asyncio.sleep(tick)
            stall = max(stall, time.monotonic() - before - tick)

    task = asyncio.create_task(ticker())
    started = time.monotonic()
    result = await work()
    took = time.monotonic() - started
    done.set()
    await task
    return result, took, stall


async def test_checks_are_answered_in_order(pools: list[EvaluatorPool]) -> None:
    pool = EvaluatorPool(1, 0.5)
    pools.append(pool)
    await pool.start()
    event = {"type": "opened", "items": [1, 2]}
    verdicts = await pool.evaluate(
        event, [check('event.type == "opened"'), check("event.nope == 1"), check("false")]
    )
    assert [v.matched for v in verdicts] == [True, False, False]
    assert verdicts[1].error is not None
    assert "no such key 'nope'" in verdicts[1].error
    assert verdicts[1].field == f"{FIELD}.filter"


async def test_a_check_past_its_deadline_is_cut_without_holding_the_loop(
    pools: list[EvaluatorPool],
) -> None:
    pool = EvaluatorPool(2, 0.1)
    pools.append(pool)
    await pool.start()
    await pool.evaluate({}, [check("true")])  # both processes are up

    def work() -> Awaitable[list[Any]]:
        return pool.evaluate(BIG_EVENT, [check(HEAVY), check('event.type == "order"')])

    (heavy, light), took, stall = await timed(work)
    assert heavy.error is not None
    assert "longer than 100 ms" in heavy.error
    assert heavy.field == FIELD
    assert light.matched, "the check after the cut one goes to the other process"
    assert took < 3.0, f"took {took:.2f}s; evaluated in the operator it takes ~7 s"
    assert stall < 0.5, f"the loop stalled {stall:.2f}s"
    again = await pool.evaluate({"type": "x"}, [check('event.type == "x"')])
    assert again[0].matched, "the killed process was replaced"


async def test_a_process_that_dies_fails_only_the_check_it_was_running(
    pools: list[EvaluatorPool],
) -> None:
    pool = EvaluatorPool(1, 0.5, command=script("sys.stdin.readline()\nsys.exit(3)"))
    pools.append(pool)
    verdicts = await pool.evaluate({}, [check("true"), check("false")])
    assert [v.error is not None for v in verdicts] == [True, True]
    assert "exit code 3" in (verdicts[0].error or "")


async def test_no_free_process_is_answered_busy_rather_than_waited_for(
    pools: list[EvaluatorPool], tmp_path: Path
) -> None:
    # The first process hangs on its request; its replacements never become ready.
    marker = tmp_path / "started"
    body = (
        "import os, time\n"
        f"if os.path.exists({str(marker)!r}): time.sleep(600)\n"
        f"open({str(marker)!r}, 'w').close()\n"
        "print('{\"ready\": true}', flush=True)\n"
        "sys.stdin.readline(); time.sleep(600)"
    )
    command = [sys.executable, "-c", f"import sys\n{body}"]
    pool = EvaluatorPool(1, 0.05, busy=0.3, command=command)
    pools.append(pool)
    (first,) = await pool.evaluate({}, [check("true")])
    assert first.error is not None
    assert "longer than 50 ms" in first.error  # idle, it was cut at the wall ceiling
    (second,), took, _ = await timed(lambda: pool.evaluate({}, [check("true")]))
    assert second.error is not None
    assert second.error.startswith("evaluation busy")
    assert took < 2.0


def test_the_process_answers_one_line_per_check() -> None:
    request = {
        "event": {"type": "opened"},
        "checks": [check('event.type == "opened"').to_wire(), {"role": "nonsense"}],
    }
    replies = io.BytesIO()
    serve(io.BytesIO(json.dumps(request).encode() + b"\n"), replies)
    ready, matched, malformed = (json.loads(line) for line in replies.getvalue().splitlines())
    assert ready == {"ready": True}
    assert matched["matched"] is True
    assert "malformed check" in malformed["error"]
