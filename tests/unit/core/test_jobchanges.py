"""Which lifecycle events a ScheduledJob's old → new body announces (the pure rule).

Bodies are the ones the writers really produce (:mod:`tests.support.jobbodies`: the REST
facade's own manifest and changes, kubectl merge patches, what the API server adds).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from almanac.core.jobchanges import (
    FIRST_SIGHT_WINDOW,
    JobAction,
    JobFacts,
    job_changes,
    job_facts,
)
from almanac.core.vocabulary import ANNOTATION_CANCELLED
from tests.support.jobbodies import NOW, created_body, kubectl_patch, status_echo
from tests.support.jobbodies import rest_change as rest_change_of

CANCELLED_AT = "2026-03-01T11:59:30Z"
BASE = created_body()


def rest_change(changes: dict[str, Any], *, actor: str = "bob") -> dict[str, Any]:
    """``BASE`` after a REST PATCH/pause/resume by ``actor`` (one write)."""
    return rest_change_of(BASE, changes, actor=actor)


SUSPENDED = kubectl_patch(BASE, {"suspend": True}, {})


def facts(body: dict[str, Any] | None) -> JobFacts | None:
    return None if body is None else job_facts(body)


@dataclass(frozen=True)
class Case:
    old: dict[str, Any] | None
    new: dict[str, Any] | None
    announces: tuple[JobAction, ...]


CASES = {
    "first sight of a job made seconds ago: created": Case(None, BASE, (JobAction.CREATED,)),
    "relist after a restart, job made yesterday: nothing": Case(
        None, created_body(created=NOW - timedelta(days=1)), ()
    ),
    "made just inside the window: created": Case(
        None, created_body(created=NOW - FIRST_SIGHT_WINDOW), (JobAction.CREATED,)
    ),
    "created paused through REST: created only": Case(
        None, created_body(status="paused"), (JobAction.CREATED,)
    ),
    "the operator's own status write: nothing": Case(BASE, status_echo(BASE), ()),
    "the same body again (a relist): nothing": Case(BASE, BASE, ()),
    "schedule edited through REST: updated": Case(
        BASE, rest_change({"schedule": "0 3 * * *"}), (JobAction.UPDATED,)
    ),
    "renamed through REST (display name only): updated": Case(
        BASE, rest_change({"name": "Morning report"}), (JobAction.UPDATED,)
    ),
    "paused through REST: paused": Case(
        BASE, rest_change({"status": "paused"}), (JobAction.PAUSED,)
    ),
    "paused and rescheduled in one PATCH: paused and updated": Case(
        BASE,
        rest_change({"status": "paused", "schedule": "0 3 * * *"}),
        (JobAction.PAUSED, JobAction.UPDATED),
    ),
    "suspended with kubectl: paused": Case(BASE, SUSPENDED, (JobAction.PAUSED,)),
    "resumed with kubectl: resumed": Case(
        SUSPENDED, kubectl_patch(SUSPENDED, {"suspend": False}, {}), (JobAction.RESUMED,)
    ),
    "cancelled (annotation and suspend in one write): cancelled, not paused": Case(
        BASE,
        kubectl_patch(BASE, {"suspend": True}, {ANNOTATION_CANCELLED: CANCELLED_AT}),
        (JobAction.CANCELLED,),
    ),
    "a paused job cancelled: cancelled": Case(
        SUSPENDED,
        kubectl_patch(SUSPENDED, {}, {ANNOTATION_CANCELLED: CANCELLED_AT}),
        (JobAction.CANCELLED,),
    ),
    "cancelled job suspended by a later write: nothing more": Case(
        kubectl_patch(BASE, {}, {ANNOTATION_CANCELLED: CANCELLED_AT}),
        kubectl_patch(
            kubectl_patch(BASE, {}, {ANNOTATION_CANCELLED: CANCELLED_AT}), {"suspend": True}, {}
        ),
        (),
    ),
    "relist finds a job cancelled seconds ago: cancelled": Case(
        None,
        kubectl_patch(
            created_body(created=NOW - timedelta(days=3)),
            {"suspend": True},
            {ANNOTATION_CANCELLED: CANCELLED_AT},
        ),
        (JobAction.CANCELLED,),
    ),
    "relist finds a job cancelled last week: nothing": Case(
        None,
        kubectl_patch(
            created_body(created=NOW - timedelta(days=30)),
            {"suspend": True},
            {ANNOTATION_CANCELLED: "2026-02-22T10:00:00Z"},
        ),
        (),
    ),
    "an unreadable cancellation instant, seen written: cancelled": Case(
        BASE,
        kubectl_patch(BASE, {"suspend": True}, {ANNOTATION_CANCELLED: "yes"}),
        (JobAction.CANCELLED,),
    ),
    "deleted: deleted": Case(BASE, None, (JobAction.DELETED,)),
    "nothing known, nothing seen: nothing": Case(None, None, ()),
}


@pytest.mark.parametrize("case", CASES.values(), ids=CASES.keys())
def test_changes_announce(case: Case) -> None:
    changes = job_changes(facts(case.old), facts(case.new), NOW)

    got = tuple(c.action for c in changes)
    assert got == case.announces, f"got {got}, want {case.announces}"


def test_the_same_change_seen_twice_has_the_same_key() -> None:
    paused = rest_change({"status": "paused"})

    first = job_changes(facts(BASE), facts(paused), NOW)
    again = job_changes(facts(BASE), facts(paused), NOW + timedelta(minutes=1))
    later = job_changes(facts(paused), facts(kubectl_patch(paused, {"suspend": False}, {})), NOW)

    assert [c.key for c in first] == [c.key for c in again] == ["rv-101"]
    assert [c.key for c in later] == ["rv-102"]


def test_created_is_keyed_by_the_job_alone_so_every_replica_agrees() -> None:
    edited_before_seen = kubectl_patch(BASE, {"params": {"command": ["false"]}}, {})

    (one,) = job_changes(None, facts(BASE), NOW)
    (other,) = job_changes(None, facts(edited_before_seen), NOW + timedelta(minutes=5))

    assert (one.key, one.at) == (other.key, other.at) == ("created", NOW - timedelta(seconds=5))


def test_cancelled_is_keyed_by_its_instant_whether_seen_written_or_at_a_relist() -> None:
    cancelled = kubectl_patch(BASE, {"suspend": True}, {ANNOTATION_CANCELLED: CANCELLED_AT})

    (seen,) = job_changes(facts(BASE), facts(cancelled), NOW)
    _, relisted = job_changes(None, facts(cancelled), NOW)

    assert seen.key == relisted.key == f"cancelled-{CANCELLED_AT}"
    assert seen.at == relisted.at == datetime(2026, 3, 1, 11, 59, 30, tzinfo=UTC)


@pytest.mark.parametrize(
    ("action", "body", "actor"),
    [
        pytest.param(None, BASE, "alice", id="created: the creator"),
        pytest.param(BASE, rest_change({"status": "paused"}), "bob", id="REST change: its writer"),
        pytest.param(BASE, SUSPENDED, "alice", id="kubectl change after no REST one: creator"),
    ],
)
def test_actor_is_who_the_annotations_name(
    action: dict[str, Any] | None, body: dict[str, Any], actor: str
) -> None:
    (change,) = job_changes(facts(action), facts(body), NOW)

    assert change.actor == actor


def test_deleted_names_no_actor_and_keeps_the_last_facts() -> None:
    (change,) = job_changes(facts(rest_change({"name": "Renamed"})), None, NOW)

    assert change.actor is None
    assert change.facts.display_name == "Renamed"
    assert (change.key, change.at) == ("deleted", NOW)


@pytest.mark.parametrize(
    "body",
    [
        pytest.param({}, id="no metadata"),
        pytest.param({"metadata": "x"}, id="metadata not a map"),
        pytest.param({"metadata": {"name": "a", "namespace": "n"}}, id="no uid"),
        pytest.param({"metadata": {"name": "a", "namespace": "n", "uid": 7}}, id="uid not text"),
    ],
)
def test_a_body_without_identity_has_no_facts(body: dict[str, Any]) -> None:
    assert job_facts(body) is None


def test_malformed_fields_read_as_absent_never_raise() -> None:
    body = {
        "metadata": {
            "name": "a",
            "namespace": "n",
            "uid": "u",
            "generation": "two",
            "creationTimestamp": "yesterday",
            "annotations": ["not", "a", "map"],
        },
        "spec": "not a map",
    }

    got = job_facts(body)

    assert got is not None
    assert (got.generation, got.created, got.cancelled, got.suspended) == (0, None, None, False)
    assert job_changes(None, got, NOW) == ()
