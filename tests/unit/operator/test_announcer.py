"""ScheduledJob lifecycle events from the operator's side: the watch feed announces each
change once, with the namespace's organisation, only while the Lease is held, and a
restart's relist announces nothing that was announced before."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

import pytest

from almanac.core.namespaces import NamespacePolicy
from almanac.core.status import RunPhase
from almanac.core.vocabulary import ANNOTATION_CANCELLED
from almanac.history import BufferedRecorder
from almanac.notify import NotifySettings
from almanac.operator.announcer import JobAnnouncer
from almanac.operator.namespacecache import NamespaceCache
from almanac.operator.observability import Metrics
from almanac.operator.recording import RunRecorder
from almanac.operator.scheduler import Scheduler
from tests.support.jobbodies import NOW, created_body, kubectl_patch, rest_change
from tests.support.runstore import InMemoryRunStore
from tests.unit.history.builders import finished, record

NOTIFY_ON = NotifySettings(enabled=True, bootstrap="127.0.0.1:9")
LABELS = {"team-a": "7310042", "org-000101": "000101"}


async def read_labels(namespace: str) -> NamespacePolicy:
    return NamespacePolicy(org_id=LABELS.get(namespace))


async def unreadable(namespace: str) -> NamespacePolicy:
    raise ConnectionError("API server unavailable")


def scheduler(
    store: InMemoryRunStore,
    *,
    read: Callable[[str], Any] = read_labels,
    holds: Callable[[], bool] = lambda: True,
    now: datetime = NOW,
    notify: NotifySettings = NOTIFY_ON,
) -> Scheduler:
    """The scheduler as the operator builds it, writing history into ``store``."""
    return Scheduler(
        None,  # type: ignore[arg-type]  # the watch feed makes no API call
        Metrics(),
        image="img",
        clock=lambda: now,
        recorder=RunRecorder(BufferedRecorder(store), notify),
        namespaces=NamespaceCache(read),
        fence=holds,
    )


async def published(s: Scheduler, store: InMemoryRunStore) -> list[dict[str, Any]]:
    """Everything announced so far, as committed to the outbox, in order."""
    assert s.announcer is not None
    await s.announcer.announce_waiting()
    await s.announcer.buffer.flush()
    return [m.payload for m in store.outbox.values()]


def types(events: list[dict[str, Any]]) -> list[str]:
    return [e["type"] for e in events]


async def test_a_jobs_lifecycle_is_announced_once_per_change_in_order() -> None:
    store = InMemoryRunStore()
    s = scheduler(store)
    body = created_body()
    steps = [body]
    steps.append(rest_change(steps[-1], {"schedule": "0 3 * * *"}))
    steps.append(rest_change(steps[-1], {"status": "paused"}))
    steps.append(rest_change(steps[-1], {"status": "scheduled"}))
    steps.append(
        kubectl_patch(steps[-1], {"suspend": True}, {ANNOTATION_CANCELLED: "2026-03-01T12:00:00Z"})
    )

    for step in steps:
        s.scheduledjob_event(step, deleted=False)
        s.scheduledjob_event(step, deleted=False)  # a relist delivers it again
    s.scheduledjob_event(steps[-1], deleted=True)

    events = await published(s, store)
    assert types(events) == [
        "almanac.job.created",
        "almanac.job.updated",
        "almanac.job.paused",
        "almanac.job.resumed",
        "almanac.job.cancelled",
        "almanac.job.deleted",
    ]
    assert {(e["data"]["namespace"], e["data"]["org_id"]) for e in events} == {
        ("org-000101", "000101")
    }
    assert [e["data"]["actor"] for e in events] == ["alice", "bob", "bob", "bob", "bob", None]


@pytest.mark.parametrize(
    ("namespace", "read", "org"),
    [
        pytest.param("team-a", read_labels, "7310042", id="the-label-whatever-the-name"),
        pytest.param("org-55", read_labels, "55", id="no-label-org-namespace"),
        pytest.param("sandbox", read_labels, None, id="no-label-no-org"),
        pytest.param("team-a", unreadable, None, id="unreadable-names-none"),
    ],
)
async def test_the_organisation_is_the_namespaces(
    namespace: str, read: Callable[[str], Any], org: str | None
) -> None:
    store = InMemoryRunStore()
    s = scheduler(store, read=read)

    s.scheduledjob_event(created_body(namespace=namespace), deleted=False)

    (event,) = await published(s, store)
    assert (event["data"]["namespace"], event["data"]["org_id"]) == (namespace, org)


async def test_a_restart_announces_no_old_job_again_and_repeats_a_new_ones_id() -> None:
    store = InMemoryRunStore()
    old = created_body(created=NOW - timedelta(days=2), uid="old-uid")
    new = created_body(uid="new-uid")
    first = scheduler(store)
    for body in (old, new):
        first.scheduledjob_event(body, deleted=False)
    before = await published(first, store)

    restarted = scheduler(store, now=NOW + timedelta(minutes=1))
    for body in (old, new):
        restarted.scheduledjob_event(body, deleted=False)
    after = await published(restarted, store)

    assert [e["data"]["job_id"] for e in before] == ["new-uid"]
    assert after == before  # the same id: the outbox kept one


async def test_nothing_is_announced_once_the_lease_is_not_surely_held() -> None:
    store = InMemoryRunStore()
    s = scheduler(store, holds=lambda: False)

    s.scheduledjob_event(created_body(), deleted=False)

    assert await published(s, store) == []


async def test_disabled_notifications_queue_nothing() -> None:
    store = InMemoryRunStore()
    s = scheduler(store, notify=NotifySettings())

    s.scheduledjob_event(created_body(), deleted=False)

    assert s.announcer is not None
    assert s.announcer.waiting == 0


async def test_a_deletion_reported_by_identity_only_keeps_the_last_body() -> None:
    store = InMemoryRunStore()
    s = scheduler(store)
    body = rest_change(created_body(), {"name": "Morning report"})
    s.scheduledjob_event(body, deleted=False)
    meta = body["metadata"]
    identity = {"metadata": {k: meta[k] for k in ("name", "namespace", "uid")}}

    s.scheduledjob_event(identity, deleted=True)

    deleted = (await published(s, store))[-1]
    assert deleted["type"] == "almanac.job.deleted"
    assert deleted["data"]["display_name"] == "Morning report"


@pytest.mark.parametrize(
    "body",
    [
        pytest.param({}, id="empty"),
        pytest.param({"metadata": {"name": "x"}}, id="no-namespace-or-uid"),
        pytest.param({"metadata": None}, id="metadata-null"),
    ],
)
def test_a_malformed_body_is_skipped_not_raised(body: dict[str, Any]) -> None:
    announcer = JobAnnouncer(BufferedRecorder(InMemoryRunStore()), NOTIFY_ON, clock=lambda: NOW)

    announcer.observe(body, deleted=False)
    announcer.observe(body, deleted=True)

    assert announcer.waiting == 0


async def test_the_queue_is_bounded_and_drops_the_oldest() -> None:
    store = InMemoryRunStore()
    announcer = JobAnnouncer(BufferedRecorder(store), NOTIFY_ON, clock=lambda: NOW, limit=2)

    for uid in ("a", "b", "c"):
        announcer.observe(created_body(uid=uid), deleted=False)

    assert (announcer.waiting, announcer.dropped) == (2, 1)


async def test_run_notices_name_the_namespace_label_the_launches_read() -> None:
    """The scheduler hands its namespace cache to the run recorder: once a launch has read a
    labelled namespace, its runs' events and notices name that organisation."""
    store = InMemoryRunStore()
    s = scheduler(store)
    assert s.namespaces is not None
    recorder = s._recorder
    assert recorder is not None

    async def orgs_named(run: str) -> set[str | None]:
        recorder.record(finished(RunPhase.SUCCEEDED, record(namespace="team-a", run=run)))
        await recorder.buffer.flush()
        named: set[str | None] = set()
        for message in store.outbox.values():
            data, context = message.payload.get("data", {}), message.payload.get("context", {})
            if data.get("run_id") == run:
                named.add(data["org_id"])
            if context.get("run_id") == run:
                named.add(message.payload["org_id"])
        return named

    assert await orgs_named("before") == {None, ""}  # not read yet: not named, not guessed
    await s.namespaces.get("team-a")  # as a launch in that namespace does
    assert await orgs_named("after") == {LABELS["team-a"]}
