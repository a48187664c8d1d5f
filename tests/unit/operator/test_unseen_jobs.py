"""A Job this process created counts before its watch shows it. Found by make chaos
PROFILE=long (4 Dec): a leader launched a Forbid job's caught-up slot and, 200 ms later in
the next pass, the following slot, because the first Job had not come through the watch
yet; under Forbid the second must wait."""

from __future__ import annotations

from datetime import timedelta

from almanac.operator.tracked import UNSEEN_FOR

from .test_event_jobs import NOW, setup

FORBID_EVERY_5S = {"schedule": {"every": "5s"}, "overlapPolicy": "Forbid", "triggers": []}


async def test_a_forbid_slot_waits_for_a_run_launched_but_not_yet_seen() -> None:
    s, api, tracked, clock = setup(**FORBID_EVERY_5S)
    await s.reconcile(tracked)
    assert len(api.jobs) == 1
    clock[0] = NOW + timedelta(seconds=5)
    await s.reconcile(tracked)  # the watch has not shown the first Job yet
    assert len(api.jobs) == 1, sorted(api.jobs)
    assert [a["job"] for a in tracked.status_doc.get("active", [])] == list(api.jobs)


async def test_an_unseen_job_stops_counting_once_its_watch_never_showed_it() -> None:
    s, api, tracked, clock = setup(**FORBID_EVERY_5S)
    await s.reconcile(tracked)
    tracked.unseen = {name: (seen, at - UNSEEN_FOR) for name, (seen, at) in tracked.unseen.items()}
    clock[0] = NOW + timedelta(seconds=5)
    await s.reconcile(tracked)
    assert len(api.jobs) == 2


async def test_a_job_seen_and_deleted_between_two_passes_does_not_linger() -> None:
    """The watch showing the Job ends its unseen stand-in at once, so a Job deleted
    right after (by a person) does not hold a Forbid job for a minute."""
    s, api, tracked, clock = setup(**FORBID_EVERY_5S)
    await s.reconcile(tracked)
    [name] = api.jobs
    body = api.jobs[name] | {"status": {}}
    s.registry.job_event(body, deleted=False)
    s.registry.job_event(body, deleted=True)
    clock[0] = NOW + timedelta(seconds=5)
    await s.reconcile(tracked)
    assert len(api.jobs) == 2
