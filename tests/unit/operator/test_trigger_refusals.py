"""A record the API server refuses: counted failed when trying again cannot help (the
partition moves on), retried with backoff when it can, and never stalling the others.

The fake API refuses creates the way the API server does (an ``ApiException`` with a
Status body); the scheduler and the trigger service are the real ones.
"""

from __future__ import annotations

import asyncio
import functools
import json
from datetime import UTC, datetime
from typing import Any

import aiohttp
import pytest
from aiokafka import TopicPartition
from aiokafka.structs import ConsumerRecord
from kubernetes_asyncio.client.exceptions import ApiException

from almanac.operator.observability import Metrics
from almanac.operator.ordered import OrderedWork
from almanac.operator.registry import WATCHED
from almanac.operator.scheduler import Scheduler
from almanac.operator.tracked import Tracked
from almanac.operator.triggerconsumer import MAX_IN_FLIGHT, _backpressure
from almanac.operator.triggererrors import classify, retried
from almanac.operator.triggers import TriggerService
from almanac.operator.triggersettings import TriggerSettings

from .evaluators import InlineEvaluator
from .objects import trigger_job

NOW = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)
QUOTA = 'jobs.batch "a-1" is forbidden: exceeded quota: runs, requested: count/jobs.batch=1'
TERMINATING = (
    'runrequests.almanac.dev "a-1" is forbidden: unable to create new content in namespace '
    "ns because it is being terminated"
)


def refusal(status: int, reason: str, message: str = "") -> ApiException:
    exc = ApiException(status=status, reason=reason)
    exc.body = json.dumps(
        {"kind": "Status", "status": "Failure", "reason": reason, "message": message}
    ).encode()
    return exc


PERMANENT = [
    pytest.param(refusal(400, "BadRequest", "bad body"), id="400"),
    pytest.param(refusal(403, "Forbidden", QUOTA), id="403-quota"),
    pytest.param(refusal(403, "Forbidden", TERMINATING), id="403-namespace-terminating"),
    pytest.param(refusal(404, "NotFound", 'namespaces "ns" not found'), id="404"),
    pytest.param(refusal(409, "Conflict", "the object has been modified"), id="409-not-ours"),
    pytest.param(refusal(413, "RequestEntityTooLarge", "limit is 3145728"), id="413"),
    pytest.param(refusal(422, "Invalid", "spec.params: Invalid value"), id="422"),
]
TRANSIENT = [
    pytest.param(refusal(408, "Timeout"), id="408"),
    pytest.param(refusal(429, "TooManyRequests", "slow down"), id="429"),
    pytest.param(refusal(500, "InternalError", "etcd leader changed"), id="500"),
    pytest.param(refusal(503, "ServiceUnavailable"), id="503"),
    pytest.param(refusal(504, "Timeout"), id="504"),
    pytest.param(TimeoutError(), id="timeout"),
    pytest.param(ConnectionResetError("reset by peer"), id="connection-reset"),
    pytest.param(aiohttp.ClientConnectionError("cannot connect"), id="client-connection"),
]


class RefusingApi:
    """Refuses the first ``failures`` creates (Jobs and RunRequests alike) with ``error``."""

    def __init__(self, error: BaseException, failures: int = 1_000) -> None:
        self.error = error
        self.failures = failures
        self.created: list[str] = []

    def _maybe_refuse(self) -> None:
        if self.failures > 0:
            self.failures -= 1
            raise self.error

    async def create_job(self, namespace: str, body: dict[str, Any]) -> bool:
        self._maybe_refuse()
        self.created.append(body["metadata"]["name"])
        return True

    async def create_run_request(self, namespace: str, body: dict[str, Any]) -> bool:
        self._maybe_refuse()
        self.created.append(body["metadata"]["name"])
        return True


def setup(api: RefusingApi) -> tuple[TriggerService, Tracked]:
    s = Scheduler(api, Metrics(), image="img", clock=lambda: NOW)  # type: ignore[arg-type]
    s.upsert(trigger_job())
    for kind in WATCHED:
        s.listed(kind)
    tracked = s.find("ns", "a")
    assert tracked is not None
    service = TriggerService(
        api,  # type: ignore[arg-type]
        s,
        Metrics(),
        TriggerSettings(),
        evaluator=InlineEvaluator(),
        backoff=(0.0, 0.0),
    )
    return service, tracked


def record(offset: int = 5) -> ConsumerRecord[bytes, bytes]:
    raw = json.dumps({"id": f"e{offset}", "type": "opened"}).encode()
    return ConsumerRecord(
        topic="events",
        partition=0,
        offset=offset,
        timestamp=int(NOW.timestamp() * 1000),
        timestamp_type=0,
        key=None,
        value=raw,
        checksum=None,
        serialized_key_size=0,
        serialized_value_size=len(raw),
        headers=(),
    )


@pytest.mark.parametrize("error", PERMANENT)
def test_refusals_that_cannot_go_away_are_permanent(error: ApiException) -> None:
    found = classify(error)
    assert found.permanent
    assert f"HTTP {error.status}" in found.reason


@pytest.mark.parametrize("error", TRANSIENT)
def test_timeouts_overload_and_server_errors_are_transient(error: BaseException) -> None:
    assert not classify(error).permanent


def test_a_bug_is_permanent_so_it_cannot_stop_the_topic() -> None:
    found = classify(KeyError("metadata"))
    assert found.permanent
    assert "KeyError" in found.reason


@pytest.mark.parametrize("error", PERMANENT)
async def test_a_permanently_refused_record_is_counted_failed_and_the_partition_moves_on(
    error: ApiException,
) -> None:
    api = RefusingApi(error)
    service, tracked = setup(api)
    rec = record()
    outcome = await service._decide(rec)
    assert outcome.creates
    flight = OrderedWork()
    flight.add(rec.offset, functools.partial(service._complete, rec, outcome))
    await flight.drain(5.0)
    assert flight.failed() is None
    assert flight.committable() == rec.offset + 1  # committed: never re-read
    counts = tracked.trigger_counts["t"]
    assert counts["failed"] == 1
    assert counts["matched"] == 1
    assert f"HTTP {error.status}" in counts["last_error"]
    assert "e5" in counts["last_error"]
    assert api.created == []


@pytest.mark.parametrize("error", TRANSIENT)
async def test_a_transient_refusal_is_retried_until_the_record_exists(
    error: BaseException,
) -> None:
    api = RefusingApi(error, failures=2)  # the Job, then the RunRequest, of attempt 1
    service, tracked = setup(api)
    rec = record()
    outcome = await service._decide(rec)
    await service._complete(rec, outcome)
    assert len(api.created) == 1
    assert "failed" not in tracked.trigger_counts["t"]


async def test_a_transient_refusal_that_outlasts_the_backoff_goes_up_for_a_rewind() -> None:
    api = RefusingApi(refusal(503, "ServiceUnavailable"))
    service, _ = setup(api)
    rec = record()
    outcome = await service._decide(rec)
    with pytest.raises(ApiException):
        await service._complete(rec, outcome)


async def test_retried_waits_longer_each_time_and_stops_at_a_permanent_refusal() -> None:
    pauses: list[float] = []
    errors: list[BaseException] = [refusal(500, "InternalError"), refusal(429, "TooMany")]
    errors.append(refusal(403, "Forbidden", QUOTA))

    async def create() -> None:
        raise errors.pop(0)

    async def sleep(seconds: float) -> None:
        pauses.append(seconds)

    found = await retried(create, fields={}, delays=(0.5, 1.0, 2.0), sleep=sleep)
    assert found is not None
    assert found.permanent
    assert "exceeded quota" in found.reason
    assert pauses == [0.5, 1.0]


class FakeConsumer:
    def __init__(self) -> None:
        self._paused: set[TopicPartition] = set()

    def paused(self) -> set[TopicPartition]:
        return set(self._paused)

    def pause(self, *partitions: TopicPartition) -> None:
        self._paused.update(partitions)

    def resume(self, *partitions: TopicPartition) -> None:
        self._paused.difference_update(partitions)


async def test_only_the_partition_with_too_much_in_flight_is_paused() -> None:
    held = asyncio.Event()

    async def stuck() -> None:
        await held.wait()

    slow, fast = TopicPartition("events", 0), TopicPartition("events", 1)
    flights = {slow: OrderedWork(), fast: OrderedWork()}
    for offset in range(MAX_IN_FLIGHT):
        flights[slow].add(offset, stuck)
    consumer = FakeConsumer()
    _backpressure(consumer, flights)
    assert consumer.paused() == {slow}
    held.set()
    await flights[slow].drain(5.0)
    flights[slow].committable()
    _backpressure(consumer, flights)
    assert consumer.paused() == set()
