"""What one Kafka record does on the trigger routes of its topic (no Kafka, no API server:
the decisions only; tests/integration/test_operator_triggers.py runs them for real)."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from aiokafka.structs import ConsumerRecord

from almanac.core.errors import InvalidInputError
from almanac.core.events import NAMESPACE_HEADER
from almanac.core.namespaces import NamespacePolicy
from almanac.core.routecheck import RouteCheck, Verdict
from almanac.operator.namespacecache import NamespaceCache
from almanac.operator.observability import Metrics
from almanac.operator.tracked import Tracked
from almanac.operator.triggers import TriggerService
from almanac.operator.triggersettings import TriggerSettings

from .evaluators import InlineEvaluator

CREATED = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)


def scheduled_job(namespace: str, name: str, topic: str = "tickets", **trigger: Any) -> Tracked:
    body = {
        "metadata": {
            "namespace": namespace,
            "name": name,
            "uid": f"uid-{namespace}-{name}",
            "creationTimestamp": CREATED.isoformat().replace("+00:00", "Z"),
        },
        "spec": {
            "template": "http",
            "triggers": [
                {
                    "name": "escalate",
                    "kafka": {
                        "topic": topic,
                        "filter": 'event.type == "opened"',
                        "key": "event.ticket",
                    },
                    "cancelOn": [
                        {
                            "kafka": {
                                "topic": topic,
                                "filter": 'event.type == "resolved"',
                                "key": "event.ticket",
                            }
                        }
                    ],
                    "params": {"url": '"https://t.example/" + event.ticket'},
                    **trigger,
                }
            ],
        },
    }
    tracked = Tracked.from_body(body)
    assert tracked.error is None, tracked.error
    return tracked


@dataclass
class FakeScheduler:
    tracked: list[Tracked]
    generation: int = 1
    on_run_finished: Any = None
    counted: list[tuple[str, str, str, str | None]] = field(default_factory=list)
    namespaces: NamespaceCache | None = None

    def objects(self) -> list[Tracked]:
        return self.tracked

    def find(self, namespace: str, name: str) -> Tracked | None:
        return next((t for t in self.tracked if t.key == (namespace, name)), None)


def service(
    *tracked: Tracked,
    settings: TriggerSettings | None = None,
    topics: dict[str, str] | None = None,
) -> TriggerService:
    """``topics``: namespace → its ``almanac.dev/kafka-topics`` annotation."""
    kube: Any = None  # never called by the decisions

    async def policy(namespace: str) -> NamespacePolicy:
        text = (topics or {}).get(namespace)
        annotations = {} if text is None else {"almanac.dev/kafka-topics": text}
        return NamespacePolicy.from_metadata({"annotations": annotations})

    scheduler: Any = FakeScheduler(list(tracked), namespaces=NamespaceCache(policy))
    return TriggerService(
        kube, scheduler, Metrics(), settings or TriggerSettings(), evaluator=InlineEvaluator()
    )


def record(
    value: bytes | dict[str, Any],
    *,
    at: datetime | None = None,
    headers: Any = (),
    topic: str = "tickets",
) -> ConsumerRecord[bytes, bytes]:
    raw = value if isinstance(value, bytes) else json.dumps(value).encode()
    stamp = int(((at or CREATED + timedelta(minutes=1)).timestamp()) * 1000)
    return ConsumerRecord(
        topic=topic,
        partition=0,
        offset=7,
        timestamp=stamp,
        timestamp_type=0,
        key=None,
        value=raw,
        checksum=None,
        serialized_key_size=0,
        serialized_value_size=len(raw),
        headers=tuple(headers),
    )


async def test_matching_event_plans_one_request_per_sequence_step_and_counts_it() -> None:
    svc = service(scheduled_job("team", "sla", sequence=["0s", "1d"]))
    outcome = await svc._decide(record({"id": "e1", "type": "opened", "ticket": "T-1"}))
    assert len(outcome.creates) == 2
    assert not outcome.cancels
    assert [c[2] for c in outcome.counts] == ["received", "matched"]


async def test_an_event_on_a_topic_the_namespace_may_not_use_plans_nothing_and_says_why() -> None:
    svc = service(
        scheduled_job("team", "sla"),
        scheduled_job("other", "sla"),
        topics={"team": "orders.*, billing", "other": "tickets"},
    )
    outcome = await svc._decide(record({"id": "e9", "type": "opened", "ticket": "T-1"}))
    assert [c.tracked.ref.namespace for c in outcome.creates] == ["other"]
    refused = [c for c in outcome.counts if c[0] == ("team", "sla")]
    assert [c[2] for c in refused] == ["received", "failed"]
    assert "topic 'tickets' is not one this namespace may use" in str(refused[1][3])
    assert "allows: orders.*, billing" in str(refused[1][3])


async def test_non_matching_event_is_received_only() -> None:
    svc = service(scheduled_job("team", "sla"))
    outcome = await svc._decide(record({"id": "e2", "type": "commented", "ticket": "T-1"}))
    assert not outcome.creates
    assert [c[2] for c in outcome.counts] == ["received"]


async def test_cancel_event_cancels_by_key() -> None:
    svc = service(scheduled_job("team", "sla", delay="48h"))
    outcome = await svc._decide(record({"id": "e3", "type": "resolved", "ticket": "T-1"}))
    assert len(outcome.cancels) == 1
    assert not outcome.creates


@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        (b"{not json", "not JSON"),
        (b"[1, 2]", "object"),
        (json.dumps({"id": "big", "type": "opened", "x": "y" * 40_000}).encode(), "32 KiB"),
    ],
)
async def test_malformed_event_is_counted_failed_with_the_reason(raw: bytes, reason: str) -> None:
    svc = service(scheduled_job("team", "sla"))
    outcome = await svc._decide(record(raw))
    assert not outcome.creates
    (_, _, what, error) = outcome.counts[-1]
    assert what == "failed"
    assert error is not None
    assert reason in error


async def test_mapping_that_fails_on_the_event_is_counted_failed_naming_the_param() -> None:
    svc = service(scheduled_job("team", "sla"))
    outcome = await svc._decide(record({"id": "e4", "type": "opened"}))  # no ticket
    (_, _, what, error) = outcome.counts[-1]
    assert what == "failed"
    assert error is not None
    assert "e4" in error


async def test_namespace_header_reaches_only_that_namespace() -> None:
    mine, theirs = scheduled_job("org-1", "sla"), scheduled_job("org-2", "sla")
    svc = service(mine, theirs)
    event = {"id": "e5", "type": "opened", "ticket": "T-1"}
    outcome = await svc._decide(record(event, headers=[(NAMESPACE_HEADER, b"org-1")]))
    assert {c[0] for c in outcome.counts} == {("org-1", "sla")}
    assert len(outcome.creates) == 1


OPENED = {"id": "e6", "type": "opened", "ticket": "T-1"}


@pytest.mark.parametrize(
    ("headers", "reached"),
    [
        pytest.param([(NAMESPACE_HEADER, b"org-1")], {("org-1", "sla")}, id="own-namespace"),
        pytest.param([], set(), id="no-header-reaches-nobody"),
        pytest.param([(NAMESPACE_HEADER, b"")], set(), id="empty-header-reaches-nobody"),
        pytest.param(
            [(NAMESPACE_HEADER, b"org-1"), (NAMESPACE_HEADER, b"org-2")],
            set(),
            id="conflicting-headers-reach-nobody",
        ),
    ],
)
async def test_trigger_topic_records_reach_only_the_namespace_they_name(
    headers: list[tuple[str, bytes]], reached: set[tuple[str, str]]
) -> None:
    jobs = [scheduled_job(ns, "sla", topic="almanac.triggers") for ns in ("org-1", "org-2")]
    outcome = await service(*jobs)._decide(
        record(OPENED, headers=headers, topic="almanac.triggers")
    )
    assert {c[0] for c in outcome.counts} == reached
    assert len(outcome.creates) == len(reached)


async def test_a_moved_trigger_topic_needs_the_header_too() -> None:
    settings = TriggerSettings.from_env({"ALMANAC_TRIGGER_TOPIC": "tenant.events"})
    assert settings.names.trigger_topic == "tenant.events"
    svc = service(scheduled_job("org-1", "sla", topic="tenant.events"), settings=settings)
    assert not (await svc._decide(record(OPENED, topic="tenant.events"))).counts
    headers = [(NAMESPACE_HEADER, b"org-1")]
    assert (await svc._decide(record(OPENED, headers=headers, topic="tenant.events"))).creates


async def test_almanacs_other_topics_are_never_read_even_for_objects_admitted_before() -> None:
    # The operator compiles what is stored (admission refuses these since); it only stops
    # reading: nothing subscribes to every organisation's run results.
    svc = service(
        scheduled_job("org-1", "spy", topic="almanac.events"),
        scheduled_job("org-1", "notices", topic="platform.notifications.ingress"),
        scheduled_job("org-1", "sla", topic="almanac.triggers"),
        scheduled_job("org-1", "own", topic="tickets"),
    )
    assert sorted(svc.routes()) == ["almanac.triggers", "tickets"]
    headers = [(NAMESPACE_HEADER, b"org-1")]
    outcome = await svc._decide(record(OPENED, headers=headers, topic="almanac.events"))
    assert not outcome.counts


async def test_events_from_before_the_scheduled_job_existed_are_ignored() -> None:
    svc = service(scheduled_job("team", "sla"))
    event = {"id": "old", "type": "opened", "ticket": "T-1"}
    outcome = await svc._decide(record(event, at=CREATED - timedelta(hours=1)))
    assert not outcome.counts
    assert not outcome.creates


def test_settings_defaults_and_a_bad_retention_names_the_variable() -> None:
    settings = TriggerSettings.from_env({"ALMANAC_KAFKA_BOOTSTRAP": "127.0.0.1:9092"})
    assert settings.bootstrap == "127.0.0.1:9092"
    assert settings.group == "almanac-triggers"
    assert settings.retention == timedelta(minutes=15)
    with pytest.raises(InvalidInputError) as bad:
        TriggerSettings.from_env({"ALMANAC_RUNREQUEST_RETENTION": "soon"})
    assert bad.value.field == "ALMANAC_RUNREQUEST_RETENTION"


SLOW = 'event.type == "opened" && size(event.ticket) > 0'


class CutEvaluator(InlineEvaluator):
    """Answers the checks whose filter is ``SLOW`` as the pool does past their deadline."""

    async def evaluate(
        self, event: Mapping[str, Any], checks: Sequence[RouteCheck]
    ) -> list[Verdict]:
        answers = await super().evaluate(event, checks)
        return [
            Verdict.failed("evaluation took longer than 100 ms and was stopped", "f")
            if check.matcher is not None
            and check.matcher.filter is not None
            and check.matcher.filter.source == SLOW
            else answer
            for check, answer in zip(checks, answers, strict=True)
        ]


async def test_a_route_cut_at_its_deadline_is_failed_and_the_others_still_run() -> None:
    kafka = {"topic": "tickets", "filter": SLOW, "key": "event.ticket"}
    noisy, quiet = scheduled_job("noisy", "sla", kafka=kafka), scheduled_job("quiet", "sla")
    svc = service(noisy, quiet)
    evaluator = CutEvaluator()
    svc._evaluator = evaluator
    outcome = await svc._decide(record(OPENED))
    by_job = {(key[0], what): error for key, _, what, error in outcome.counts}
    assert "took longer than 100 ms" in (by_job[("noisy", "failed")] or "")
    assert ("noisy", "matched") not in by_job
    assert ("quiet", "matched") in by_job
    assert [c.tracked.key for c in outcome.creates] == [quiet.key]
    assert evaluator.asked == [4]  # one request: both jobs' start and cancel routes


async def test_mapped_params_over_the_cap_are_counted_failed_not_created() -> None:
    big = scheduled_job("team", "big", params={"blob": "event.blob + event.blob + event.blob"})
    svc = service(big)
    outcome = await svc._decide(record(OPENED | {"blob": "x" * 30_000}))
    assert not outcome.creates
    (_, _, what, error) = outcome.counts[-1]
    assert what == "failed"
    assert error is not None
    assert "64 KiB" in error
    assert "spec.triggers[0].params.blob" in error


async def test_an_event_over_the_size_cap_is_refused_before_it_is_parsed() -> None:
    evaluator = InlineEvaluator()
    svc = service(scheduled_job("team", "sla"))
    svc._evaluator = evaluator
    outcome = await svc._decide(record(b"{" + b" " * 40_000))  # not even JSON: never parsed
    (_, _, what, error) = outcome.counts[-1]
    assert what == "failed"
    assert error is not None
    assert "larger than 32 KiB" in error
    assert evaluator.asked == []


async def test_the_evaluator_is_closed_when_the_service_stops() -> None:
    evaluator = InlineEvaluator()
    svc = service(scheduled_job("team", "sla"))
    svc._evaluator = evaluator
    stop = asyncio.Event()
    stop.set()
    await svc.run(stop)
    assert evaluator.closed


@pytest.mark.parametrize(
    ("variable", "value"),
    [
        pytest.param("ALMANAC_TRIGGER_EVAL_TIMEOUT", "fast", id="timeout-not-a-duration"),
        pytest.param("ALMANAC_TRIGGER_EVAL_WORKERS", "0", id="no-workers"),
        pytest.param("ALMANAC_TRIGGER_EVAL_WORKERS", "17", id="too-many-workers"),
    ],
)
def test_a_bad_evaluation_setting_names_the_variable(variable: str, value: str) -> None:
    with pytest.raises(InvalidInputError) as bad:
        TriggerSettings.from_env({variable: value})
    assert bad.value.field == variable


def test_evaluation_settings_default_to_100ms_and_two_workers() -> None:
    settings = TriggerSettings.from_env({})
    assert settings.eval_timeout == timedelta(milliseconds=100)
    assert settings.eval_workers == 2
    tuned = TriggerSettings.from_env(
        {"ALMANAC_TRIGGER_EVAL_TIMEOUT": "250ms", "ALMANAC_TRIGGER_EVAL_WORKERS": "4"}
    )
    assert (tuned.eval_timeout, tuned.eval_workers) == (timedelta(milliseconds=250), 4)
