"""The dead letters' routes over the in-memory history: an organisation's list with its
filters and pages, one letter, a requeue (a retry of the dead run, also with its Job
pruned; asked twice, the same run; an event's letter is 409), 400 naming a bad field and
404 for another organisation's letter."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from almanac.core.status import RunPhase
from almanac.history.deadletters import event_letter
from almanac.history.records import RunRecord
from tests.unit.api.history_app import NOW, Facade, facade, job_object

ORG = "000101"
NS = f"org-{ORG}"
UID = "uid-1"
SLOT = NOW - timedelta(hours=3)


def dead_run(name: str, at: timedelta, uid: str = UID, namespace: str = NS) -> RunRecord:
    return RunRecord(
        namespace=namespace,
        scheduledjob="report",
        scheduledjob_uid=uid,
        run_name=name,
        slot=SLOT,
        phase=RunPhase.FAILED,
        template="command",
        attempt=2,
        started_at=SLOT,
        finished_at=SLOT + at,
        error="exit code 1",
        dead_lettered_at=SLOT + at,
    )


async def seeded(f: Facade) -> None:
    f.jobs.objects.append(job_object(ORG, UID, "report"))
    await f.store.record_run(dead_run("report-202603020900-a2", timedelta(minutes=1)))
    await f.store.record_run(dead_run("other-202603020900-a2", timedelta(minutes=2), uid="uid-2"))
    await f.store.record_dead_letter(
        event_letter(
            namespace=NS,
            scheduledjob="report",
            scheduledjob_uid=UID,
            event_id="ev-1",
            topic="orders",
            reason="event ev-1: params.amount is not a number",
            value=b'{"amount": "lots"}',
            at=SLOT + timedelta(minutes=3),
        )
    )
    await f.store.record_run(
        dead_run("theirs-202603020900-a2", timedelta(minutes=4), namespace="org-000202")
    )


def ids(body: dict[str, Any]) -> list[str]:
    return [x["run_id"] or x["event_id"] for x in body["data"]]


async def test_the_list_is_the_organisations_newest_first_with_filters_and_pages() -> None:
    async with facade() as f:
        await seeded(f)

        everything = (await f.get(ORG, "/dead-letters")).json()
        of_job = (await f.get(ORG, "/dead-letters", job_id=UID)).json()
        runs = (await f.get(ORG, "/dead-letters", kind="run")).json()
        window = SLOT + timedelta(minutes=2)
        in_window = (
            await f.get(ORG, "/dead-letters", since=window.isoformat(), until=window.isoformat())
        ).json()
        page = (await f.get(ORG, "/dead-letters", limit=1, offset=1)).json()

    assert ids(everything) == ["ev-1", "other-202603020900-a2", "report-202603020900-a2"]
    assert everything["meta"]["count"] == 3
    assert ids(of_job) == ["ev-1", "report-202603020900-a2"]
    assert ids(runs) == ["other-202603020900-a2", "report-202603020900-a2"]
    assert ids(in_window) == ["other-202603020900-a2"]
    assert (ids(page), page["meta"]["count"]) == (["other-202603020900-a2"], 3)
    assert "offset=2" in page["meta"]["next"]
    event = everything["data"][0]
    assert (event["kind"], event["topic"], event["value"], event["status"]) == (
        "event",
        "orders",
        '{"amount": "lots"}',
        "waiting",
    )


@pytest.mark.parametrize(
    ("params", "field"),
    [
        pytest.param({"kind": "job"}, "kind", id="unknown-kind"),
        pytest.param({"since": "2026-03-02T12:00:00"}, "since", id="naive-since"),
        pytest.param({"limit": 0}, "limit", id="limit-zero"),
    ],
)
async def test_a_bad_filter_is_a_400_naming_it(params: dict[str, Any], field: str) -> None:
    async with facade() as f:
        answer = await f.get(ORG, "/dead-letters", **params)

    assert answer.status_code == 400
    assert [e["field"] for e in answer.json()["errors"]] == [field]


async def test_one_letter_is_read_by_its_id_and_a_bad_id_is_a_400_naming_it() -> None:
    async with facade() as f:
        await seeded(f)
        letter_id = (await f.get(ORG, "/dead-letters", kind="run")).json()["data"][1]["id"]

        found = await f.get(ORG, f"/dead-letters/{letter_id}")
        bad = await f.get(ORG, "/dead-letters/x")

    assert (found.status_code, found.json()["run_id"]) == (200, "report-202603020900-a2")
    assert found.json()["reason"] == "exit code 1"
    assert bad.status_code == 400
    assert [e["field"] for e in bad.json()["errors"]] == ["id"]


async def test_another_organisations_letter_is_not_found_nor_requeued() -> None:
    async with facade() as f:
        await seeded(f)
        theirs = (await f.get("000202", "/dead-letters")).json()["data"][0]["id"]

        read = await f.get(ORG, f"/dead-letters/{theirs}")
        requeued = await f.post(ORG, f"/dead-letters/{theirs}/requeue")

    assert (read.status_code, requeued.status_code) == (404, 404)


async def test_a_requeue_retries_the_pruned_run_and_answers_the_same_run_twice() -> None:
    async with facade() as f:
        await seeded(f)
        letter_id = (await f.get(ORG, "/dead-letters", job_id=UID, kind="run")).json()["data"][0][
            "id"
        ]

        first = await f.post(ORG, f"/dead-letters/{letter_id}/requeue")
        again = await f.post(ORG, f"/dead-letters/{letter_id}/requeue")
        letter = (await f.get(ORG, f"/dead-letters/{letter_id}")).json()
        requests = list(f.jobs.requests.values())

    assert first.status_code == again.status_code == 202
    body = first.json()
    assert (body["run_id"], body["job_id"]) == ("report-202603020900-a2", UID)
    assert body["requeued_run_id"].endswith("-a3")
    assert again.json() == body
    assert first.headers["Location"].endswith(f"/executions/{body['requeued_run_id']}")
    assert (letter["status"], letter["requeued_run_id"]) == ("requeued", body["requeued_run_id"])
    assert [r["spec"]["kind"] for r in requests] == ["retry"]


async def test_an_events_letter_is_not_requeued_here() -> None:
    async with facade() as f:
        await seeded(f)
        letter_id = (await f.get(ORG, "/dead-letters", kind="event")).json()["data"][0]["id"]

        answer = await f.post(ORG, f"/dead-letters/{letter_id}/requeue")

    assert answer.status_code == 409
    assert "publishing them again" in answer.json()["errors"][0]["message"]
