"""Why an event's record could not be created, and whether trying again can help.

An event is committed only once its record (a Job or a RunRequest) exists. When the API
server refused that record, the consumer used to re-read the partition from the event
after a pause, forever: a record refused for a reason that does not go away (the
namespace's quota, a namespace being deleted, a body too large) stopped every tenant on
the topic. Now one place decides (:func:`classify`):

- **permanent** (400, 403 — quota exceeded, namespace terminating, RBAC —, 404, 409 other
  than AlreadyExists, 413, 422, any other 4xx, and errors that are not the API's or the
  network's, i.e. bugs that would fail again): the event is counted ``failed`` on its
  trigger with the reason, and the partition moves on;
- **transient** (timeouts, connection errors, 408, 429, 5xx): :func:`retried` tries again
  in the event's own task with exponential backoff (:data:`BACKOFF`, about 90 s in all),
  so other partitions keep flowing; after that the error goes up and the consumer re-reads
  the partition from the event, as before (the API server is down for everybody).
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Final

import aiohttp
from kubernetes_asyncio.client.exceptions import ApiException

from .logs import log

__all__ = ["BACKOFF", "Refusal", "classify", "retried"]

#: Pauses between attempts of a transiently failing create (seconds).
BACKOFF: Final = (0.5, 1.0, 2.0, 4.0, 8.0, 16.0, 30.0, 30.0)
_TRANSIENT_STATUS: Final = frozenset({408, 429})
_MAX_MESSAGE: Final = 300


@dataclass(frozen=True)
class Refusal:
    """A create that failed: ``permanent`` when trying again cannot help; ``reason`` is
    the sentence counted on the trigger."""

    permanent: bool
    reason: str


def _status_of(exc: ApiException) -> tuple[str, str]:
    """(reason, message) of the API server's Status body, as far as it has them."""
    body: Any = exc.body
    try:
        status = json.loads(body) if isinstance(body, bytes | str) and body else {}
    except ValueError:
        status = {}
    if not isinstance(status, dict):
        status = {}
    message = " ".join(str(status.get("message") or "").split())[:_MAX_MESSAGE]
    return str(status.get("reason") or exc.reason or ""), message


def classify(exc: BaseException) -> Refusal:
    """Whether ``exc`` (raised by creating an event's record) can go away by itself."""
    if isinstance(exc, ApiException):
        code = int(exc.status or 0)
        reason, message = _status_of(exc)
        text = f"HTTP {code} {reason}" + (f": {message}" if message else "")
        # 409 AlreadyExists never gets here: the create answers it (the event was accepted).
        transient = code == 0 or code >= 500 or code in _TRANSIENT_STATUS
        what = "the API server did not take" if transient else "the API server refused"
        return Refusal(not transient, f"{what} the run's record ({text})")
    if isinstance(exc, OSError | aiohttp.ClientError):  # timeouts and connections included
        return Refusal(False, f"the API server was not reachable ({type(exc).__name__}: {exc})")
    return Refusal(True, f"the run's record could not be made ({type(exc).__name__}: {exc})")


async def retried(
    create: Callable[[], Awaitable[object]],
    *,
    fields: Mapping[str, Any],
    delays: Sequence[float] = BACKOFF,
    sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
) -> Refusal | None:
    """Await ``create``, again after each pause of ``delays`` while it fails transiently.

    Returns
    -------
    None when it succeeded; the :class:`Refusal` when it failed permanently.

    Raises
    ------
    Exception
        The last transient error, once every pause was used.
    """
    for delay in (*delays, None):
        try:
            await create()
            return None
        except Exception as exc:
            refusal = classify(exc)
            if refusal.permanent:
                if not isinstance(exc, ApiException):
                    log.exception("trigger record failed", extra=dict(fields))
                return refusal
            if delay is None:
                raise
            log.warning(
                "trigger record not created, will retry",
                extra=dict(fields) | {"error": refusal.reason, "retry_in": delay},
            )
            await sleep(delay)
    return None  # not reached: the last pass returns or raises
