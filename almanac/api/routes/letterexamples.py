"""Examples of the dead letters' routes (OpenAPI and the REST reference)."""

from __future__ import annotations

from typing import Final

from almanac.api.routes.jobexamples import JOB_ID, RESOURCE, Examples
from almanac.api.routes.jobexamples import example as _example

__all__ = ["DEAD_LETTER", "DEAD_LETTER_LIST", "REQUEUE_ACCEPTED"]

_RUN_LETTER: Final = {
    "id": 17,
    "kind": "run",
    "job_id": JOB_ID,
    "job_resource_name": RESOURCE,
    "run_id": f"{RESOURCE}-202601280000-a3",
    "event_id": None,
    "topic": None,
    "value": None,
    "reason": "exit code 1",
    "dead_lettered_at": "2026-01-28T00:21:07Z",
    "status": "waiting",
    "requeued_at": None,
    "requeued_run_id": None,
}
_EVENT_LETTER: Final = _RUN_LETTER | {
    "id": 18,
    "kind": "event",
    "run_id": None,
    "event_id": "order-4711",
    "topic": "orders",
    "value": '{"id": "order-4711", "type": "order.paid", "data": {"amount": "lots"}}',
    "reason": "event order-4711: params.amount: 'lots' is not of type 'number'",
    "dead_lettered_at": "2026-01-28T09:12:44Z",
}
DEAD_LETTER: Final[Examples] = {
    "run": _example("A run that exhausted its retries", _RUN_LETTER),
    "event": _example("A trigger event its params mapping refused", _EVENT_LETTER),
}
DEAD_LETTER_LIST: Final[Examples] = {
    "page": _example(
        "Newest first",
        {"data": [_EVENT_LETTER, _RUN_LETTER], "meta": {"count": 2, "limit": 50, "offset": 0}},
    )
}
REQUEUE_ACCEPTED: Final[Examples] = {
    "accepted": _example(
        "Accepted",
        {
            "id": 17,
            "job_id": JOB_ID,
            "run_id": f"{RESOURCE}-202601280000-a3",
            "requeued_run_id": f"{RESOURCE}-202601280000-r1-a4",
            "status": "accepted",
        },
    )
}
