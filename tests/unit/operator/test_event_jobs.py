"""An event run that can start now is created as its Job, with no RunRequest: the Job is
the event's record (a redelivery meets AlreadyExists; a copy produced later, whose instant
gives another Job name, is known by the Job's request label), and history limits keep it
for the record window. Every other run still goes through its RunRequest, and nothing is
decided from memory before the watches have listed."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime, timedelta
from typing import Any

from almanac.core.namespaces import NamespacePolicy
from almanac.core.requestnames import legacy_request_name, request_name
from almanac.core.runrequests import EventSource, RunRequestSpec, run_request_body
from almanac.core.runs import observe_job
from almanac.core.templates import JobTemplateSpec
from almanac.core.topicpolicy import ANNOTATION_KAFKA_TOPICS as ANNOTATION
from almanac.operator.namespacecache import NamespaceCache
from almanac.operator.observability import Metrics
from almanac.operator.registry import WATCHED
from almanac.operator.scheduler import Scheduler
from almanac.operator.tracked import Tracked
from almanac.operator.triggers import TriggerService
from almanac.operator.triggersettings import TriggerSettings

from .objects import trigger_job

NOW = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)


class Api:
    """Jobs by name, as the API server keeps them (a second create is AlreadyExists)."""

    def __init__(self) -> None:
        self.jobs: dict[str, dict[str, Any]] = {}
        self.deleted: list[str] = []
        self.requests: list[str] = []

    async def create_run_request(self, namespace: str, body: dict[str, Any]) -> bool:
        self.requests.append(body["metadata"]["name"])
        return True

    async def create_job(self, namespace: str, body: dict[str, Any]) -> bool:
        name = body["metadata"]["name"]
        if name in self.jobs:
            return False
        self.jobs[name] = body
        return True

    async def delete_job(self, namespace: str, name: str) -> None:
        self.deleted.append(name)


def setup(
    listed: Iterable[str] = WATCHED, **spec: Any
) -> tuple[Scheduler, Api, Tracked, list[datetime]]:
    api = Api()
    clock = [NOW]
    s = Scheduler(api, Metrics(), image="img", clock=lambda: clock[0])  # type: ignore[arg-type]
    s.upsert(trigger_job(**spec))
    tracked = s.find("ns", "a")
    assert tracked is not None
    for kind in listed:
        s.listed(kind)
    return s, api, tracked, clock


def planned(event_id: str, *, due: datetime = NOW, kind: str = "event") -> RunRequestSpec:
    return RunRequestSpec(
        scheduled_job="a",
        trigger="t",
        kind=kind,
        due_time=due,
        params={"env": {"N": event_id}},
        source=EventSource(id=event_id, topic="events", partition=0, offset=1),
    )


async def test_an_event_run_due_now_is_created_as_its_job_once() -> None:
    s, api, tracked, _ = setup()
    assert await s.launch_event_now(tracked, "a-t-e1", planned("e1")) is True
    assert await s.launch_event_now(tracked, "a-t-e1", planned("e1")) is False  # redelivered
    (job,) = api.jobs.values()
    assert job["metadata"]["annotations"]["almanac.dev/event-id"] == "e1"
    assert job["metadata"]["labels"]["almanac.dev/run-request"] == "a-t-e1"
    assert tracked.requests == {}
    assert tracked.trigger_counts["t"] == {"launched": 1}


async def test_runs_that_need_their_request_are_left_to_it() -> None:
    s, api, tracked, _ = setup()
    later = NOW + timedelta(hours=48)
    assert await s.launch_event_now(tracked, "r1", planned("e1", due=later)) is None
    assert await s.launch_event_now(tracked, "r2", planned("e2", kind="after")) is None
    for spec in (
        {"suspend": True},
        {"retry": {"maxAttempts": 3}},
        {"template": "no-such-template"},
    ):
        s, api, tracked, _ = setup(**spec)
        assert await s.launch_event_now(tracked, "r3", planned("e3")) is None, spec
        assert api.jobs == {}


async def test_params_the_template_refuses_are_left_to_the_request_to_record() -> None:
    s, api, tracked, _ = setup(template="typed", params={})
    schema = {"type": "object", "properties": {"seconds": {"type": "integer"}}}
    s.template_event("ns", "typed", JobTemplateSpec(image="img", params_schema=schema))
    refused = planned("e1").model_copy(update={"params": {"seconds": "soon"}})
    assert await s.launch_event_now(tracked, "r1", refused) is None
    assert api.jobs == {}
    fine = planned("e2").model_copy(update={"params": {"seconds": 3}})
    assert await s.launch_event_now(tracked, "r2", fine) is True


async def test_history_limits_keep_an_event_jobs_record_for_the_window() -> None:
    s, api, tracked, clock = setup(history={"successfulJobs": 0})
    assert await s.launch_event_now(tracked, "a-t-e1", planned("e1"))
    (body,) = api.jobs.values()
    finished = body | {
        "status": {
            "completionTime": "2026-12-01T12:00:05Z",
            "conditions": [{"type": "Complete", "status": "True"}],
        }
    }
    assert observe_job(finished) is not None
    s.job_event(finished, deleted=False)
    clock[0] = NOW + timedelta(minutes=10)
    await s.reconcile(tracked)
    assert api.deleted == []  # a redelivered event would still meet it
    clock[0] = NOW + timedelta(minutes=16)
    await s.reconcile(tracked)
    assert api.deleted == [body["metadata"]["name"]]


async def test_a_copy_of_the_event_produced_later_is_still_one_run() -> None:
    s, api, tracked, _ = setup()
    assert await s.launch_event_now(tracked, "a-t-e1", planned("e1"))
    copy = planned("e1", due=NOW - timedelta(seconds=0.5))  # another instant: another name
    assert await s.launch_event_now(tracked, "a-t-e1", copy) is False
    assert len(api.jobs) == 1


async def test_a_copy_that_cannot_start_now_does_not_become_a_request() -> None:
    s, api, tracked, _ = setup()
    triggers = TriggerService(api, s, Metrics(), TriggerSettings())  # type: ignore[arg-type]
    assert await triggers._store(tracked, "a-t-e1", planned("e1")) is True
    assert tracked.spec is not None
    tracked.spec = tracked.spec.model_copy(update={"suspend": True})
    assert await triggers._store(tracked, "a-t-e1", planned("e1")) is False
    assert api.requests == []
    assert len(api.jobs) == 1


async def test_nothing_is_created_at_once_before_the_watches_have_listed() -> None:
    s, api, tracked, _ = setup(listed=WATCHED - {"runrequest"})
    assert not s.synced.is_set()
    assert await s.launch_event_now(tracked, "a-t-e1", planned("e1")) is None
    assert api.jobs == {}
    s.listed("runrequest")
    assert s.synced.is_set()
    assert await s.launch_event_now(tracked, "a-t-e1", planned("e1")) is True


async def test_a_run_carries_its_namespaces_topic_allow_list() -> None:
    s, api, tracked, _ = setup()

    async def policy(namespace: str) -> NamespacePolicy:
        assert namespace == "ns"
        return NamespacePolicy.from_metadata({"annotations": {ANNOTATION: "reports.*"}})

    s.namespaces = NamespaceCache(policy)
    assert await s.launch_event_now(tracked, "a-t-e7", planned("e7")) is True
    (job,) = api.jobs.values()
    (container,) = job["spec"]["template"]["spec"]["containers"]
    env = {e["name"]: e.get("value") for e in container["env"]}
    assert env["ALMANAC_KAFKA_TOPICS"] == "reports.*"


async def test_an_event_accepted_under_its_pre_128_bit_name_is_not_accepted_again() -> None:
    s, api, tracked, _ = setup()
    spec = planned("e1", due=NOW + timedelta(minutes=5))
    assert spec.source is not None
    legacy = legacy_request_name("a", "u1", "t", spec.source.id)
    body = run_request_body(name=legacy, namespace="ns", owner="a", owner_uid="u1", spec=spec)
    s.request_event(body, deleted=False)
    again = planned("e1")
    assert await s.launch_event_now(tracked, request_name("a", "u1", "t", "e1"), again) is False
    assert api.jobs == {}


async def test_an_overdue_later_step_is_left_to_its_request_while_its_events_are_unread() -> None:
    """Read from a backlog, a step due 20 s after its event is overdue on arrival: made
    its Job at once, it ran before its cancel (the next record) was read. It is left to
    its RunRequest, which waits for the read mark; the event's own first step, due when it
    was sent, still starts at once: no event can come between."""
    s, api, tracked, _ = setup()
    sent = NOW - timedelta(seconds=40)
    s.events_read_to = lambda: sent
    later_step = planned("e1", due=sent + timedelta(seconds=20))
    assert await s.launch_event_now(tracked, "a-t-e1-s1", later_step, sent=sent) is None
    assert await s.launch_event_now(tracked, "a-t-e1", planned("e1", due=sent), sent=sent)
    assert len(api.jobs) == 1
    s.events_read_to = lambda: NOW
    assert await s.launch_event_now(tracked, "a-t-e1-s1", later_step, sent=sent) is True
