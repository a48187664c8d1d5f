"""Trigger events refused for good are parked as dead letters of kind ``event`` (the
job's namespace, the event's id, topic, value and the reason); an event retried and
recorded in the end is not; a history that does not answer does not stop the consumer."""

from __future__ import annotations

import asyncio
import dataclasses

from aiokafka.structs import ConsumerRecord

from almanac.history.deadletters import MAX_EVENT_VALUE_BYTES, DeadLetter, LetterKind
from almanac.operator.observability import Metrics
from almanac.operator.parking import EventParking
from almanac.operator.registry import WATCHED
from almanac.operator.scheduler import Scheduler
from almanac.operator.tracked import Tracked
from almanac.operator.triggers import TriggerService
from almanac.operator.triggersettings import TriggerSettings

from .evaluators import InlineEvaluator
from .objects import trigger_job
from .test_trigger_refusals import NOW, RefusingApi, record, refusal


def setup(api: RefusingApi, parked: list[DeadLetter]) -> tuple[TriggerService, Tracked]:
    async def store(letter: DeadLetter) -> None:
        parked.append(letter)

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
        parking=EventParking(store, clock=lambda: NOW),
    )
    return service, tracked


async def handle(service: TriggerService, rec: ConsumerRecord[bytes, bytes]) -> None:
    await service._complete(rec, await service._decide(rec))


async def test_an_event_the_api_server_refuses_for_good_is_parked_with_the_reason() -> None:
    parked: list[DeadLetter] = []
    service, _ = setup(RefusingApi(refusal(403, "Forbidden", "exceeded quota")), parked)
    rec = record()

    await handle(service, rec)

    (letter,) = parked
    assert (letter.kind, letter.namespace, letter.scheduledjob_uid) == (
        LetterKind.EVENT,
        "ns",
        "u1",
    )
    assert (letter.subject, letter.topic, letter.at) == ("e5", "events", NOW)
    assert letter.value == rec.value.decode()
    assert "HTTP 403" in letter.reason


async def test_an_unreadable_event_is_parked_under_its_position_with_its_value_bounded() -> None:
    parked: list[DeadLetter] = []
    service, _ = setup(RefusingApi(refusal(500, "x"), failures=0), parked)
    raw = b"{not json" + b"x" * (MAX_EVENT_VALUE_BYTES * 2)
    rec = dataclasses.replace(record(), value=raw, serialized_value_size=len(raw))

    await handle(service, rec)

    (letter,) = parked
    assert letter.subject == "events/0/5"
    assert len(letter.value or "") == MAX_EVENT_VALUE_BYTES
    assert "refused" in letter.reason


async def test_an_event_recorded_after_a_transient_refusal_is_not_parked() -> None:
    parked: list[DeadLetter] = []
    service, _ = setup(RefusingApi(refusal(503, "ServiceUnavailable"), failures=1), parked)

    await handle(service, record())

    assert parked == []


async def test_a_history_that_does_not_answer_does_not_stop_the_event() -> None:
    async def hangs(letter: DeadLetter) -> None:
        await asyncio.sleep(3600)

    parking = EventParking(hangs, timeout=0.01)
    service, tracked = setup(RefusingApi(refusal(400, "BadRequest")), [])
    service._parking = parking

    await handle(service, record())

    assert tracked.trigger_counts["t"]["failed"] == 1
