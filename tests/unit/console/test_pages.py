"""The console's pages over the real service and an in-memory API server: each page, each
action, and that they follow REST's tenancy, roles and validation."""

from __future__ import annotations

import html
import json
import re
from collections.abc import AsyncIterator

import pytest

from almanac.api.errors import UpstreamError
from almanac.console.security import CSP
from almanac.core.status import RunPhase
from tests.unit.console.fakes import Console, console
from tests.unit.console.pages import User, field_errors, job_body


@pytest.fixture
async def site() -> AsyncIterator[Console]:
    async with console() as made:
        yield made


@pytest.fixture
def ann(site: Console) -> User:
    return User(site, "101", "ann", admin=True)


async def test_every_page_carries_the_content_security_policy(ann: User) -> None:
    job_id = await ann.create()
    for path in (
        "/jobs",
        f"/jobs/{job_id}",
        "/jobs/new",
        f"/jobs/{job_id}/edit",
        "/calendar",
        "/import",
    ):
        reply = await ann.get(path)
        assert reply.status_code == 200, (path, reply.text[:500])
        assert reply.headers["content-security-policy"] == CSP
        assert "script-src 'self'" in CSP
        assert reply.headers["x-frame-options"] == "DENY"
        assert "<script>" not in reply.text  # no inline script: CSP would block it
        assert " on" + "click=" not in reply.text


async def test_a_job_made_with_the_form_is_listed_with_its_schedule_in_words(ann: User) -> None:
    job_id = await ann.create(tags="reports, nightly")
    listed = await ann.get("/jobs")
    assert f'data-job-id="{job_id}"' in listed.text
    assert "at 02:30 Europe/Berlin every day" in listed.text
    page = await ann.get(f"/jobs/{job_id}")
    assert "Nightly" in page.text
    assert "reports, nightly" in page.text
    obj = next(iter(ann.console.kube.jobs.values()))
    assert obj["spec"]["schedule"] == {"cron": "30 2 * * *", "timeZone": "Europe/Berlin"}
    assert obj["metadata"]["annotations"]["almanac.dev/created-by"] == "ann"


async def test_the_list_filters_searches_and_pages(ann: User) -> None:
    for index in range(55):
        await ann.create(name=f"Job {index:02d}", tags="even" if index % 2 == 0 else "odd")
    first = await ann.get("/jobs")
    assert first.text.count("data-job-id=") == 50
    assert "page 1 of 2" in first.text
    second = await ann.get("/jobs", page="2")
    assert second.text.count("data-job-id=") == 5
    assert await_count(await ann.get("/jobs", tag="odd")) == 27
    assert await_count(await ann.get("/jobs", q="job 1")) == 10
    assert await_count(await ann.get("/jobs", status="paused")) == 0
    assert await_count(await ann.get("/jobs", template="command")) == 50  # page 1 of 55


def await_count(reply: object) -> int:
    text: str = reply.text  # type: ignore[attr-defined]
    return text.count("data-job-id=")


async def test_the_list_shows_the_last_result_and_the_next_run(site: Console, ann: User) -> None:
    job_id = await ann.create()
    site.status("101", job_id, lastRun={"phase": "Failed"}, nextRunTime="2026-03-03T01:30:00Z")
    row = re.search(rf'data-job-id="{job_id}">(.*?)</tr>', (await ann.get("/jobs")).text, re.S)
    assert row is not None
    assert "r-failed" in row.group(1)
    assert "2026-03-03 01:30 UTC" in row.group(1)


async def test_run_now_asks_the_operator_for_a_run_with_the_runs_parameters(
    site: Console, ann: User
) -> None:
    job_id = await ann.create()
    reply = await ann.post(
        f"/jobs/{job_id}/run", {"idempotency_key": "k1", "payload": '{"command": ["date"]}'}
    )
    assert reply.status_code == 303
    assert reply.headers["location"].endswith(f"/console/jobs/{job_id}?notice=run")
    again = await ann.post(
        f"/jobs/{job_id}/run", {"idempotency_key": "k1", "payload": '{"command": ["date"]}'}
    )
    assert again.status_code == 303
    assert len(site.kube.requests) == 1  # the same form sent twice asks once
    request = next(iter(site.kube.requests.values()))
    assert request["spec"]["params"] == {"command": ["date"]}


def json_script(html: str, script_id: str) -> object:
    """The JSON a page carries in ``<script type="application/json" id=...>``."""
    found = re.search(
        rf'<script type="application/json" id="{script_id}">(.*?)</script>', html, re.S
    )
    assert found is not None, f"no {script_id}"
    return json.loads(found.group(1))


async def test_run_now_offers_the_templates_form_started_from_the_jobs_params(
    ann: User,
) -> None:
    job_id = await ann.create(payload='{"command": ["echo", "nightly"]}')
    page = (await ann.get(f"/jobs/{job_id}")).text
    schema = json_script(page, "run-params-schema")
    assert isinstance(schema, dict)
    assert "command" in schema["properties"]
    assert json_script(page, "run-params-start") == {"command": ["echo", "nightly"]}
    assert json_script(page, "run-payload-errors") == []
    assert 'data-params-editor data-payload-field="run-payload"' in page
    assert "/static/params.js" in page
    assert "/static/vendor/jsoneditor.js" in page
    # The no-script fallback: the text box, empty (the job's own parameters).
    assert re.search(r'<textarea id="run-payload" name="payload"[^>]*></textarea>', page)


async def test_a_template_without_a_schema_keeps_the_text_box_only(
    site: Console, ann: User
) -> None:
    await ann.get("/jobs")  # the organisation's namespace exists
    site.kube.templates[("org-101", "plain")] = {
        "kind": "JobTemplate",
        "metadata": {"name": "plain", "namespace": "org-101"},
        "spec": {"description": "no parameters schema"},
    }
    job_id = await ann.create(type="plain", payload="{}")
    page = (await ann.get(f"/jobs/{job_id}")).text
    assert 'id="run-payload"' in page
    assert "run-params-schema" not in page
    assert "/static/params.js" not in page


async def test_a_run_now_the_schema_refuses_is_shown_on_the_field_as_typed(
    site: Console, ann: User
) -> None:
    job_id = await ann.create()
    typed = '{"command": 5}'
    reply = await ann.post(f"/jobs/{job_id}/run", {"idempotency_key": "k2", "payload": typed})
    assert reply.status_code == 400
    assert "payload.command" in " ".join(field_errors(reply.text, "payload"))
    assert 'id="error-summary"' in reply.text
    assert "<details open>" in reply.text
    box = re.search(r'<textarea id="run-payload"[^>]*>(.*?)</textarea>', reply.text, re.S)
    assert box is not None
    assert html.unescape(box.group(1)) == typed
    errors = json_script(reply.text, "run-payload-errors")
    assert isinstance(errors, list)
    assert {e["path"] for e in errors} == {"payload.command"}
    assert not site.kube.requests
    # Control: the same form with parameters the schema takes asks for the run.
    fixed = await ann.post(
        f"/jobs/{job_id}/run", {"idempotency_key": "k2", "payload": '{"command": ["true"]}'}
    )
    assert fixed.status_code == 303
    assert len(site.kube.requests) == 1


async def test_run_now_text_that_is_not_a_json_object_is_named(ann: User) -> None:
    job_id = await ann.create()
    for typed, said in (("{oops", "is not valid JSON"), ("[1]", "must be a JSON object")):
        reply = await ann.post(f"/jobs/{job_id}/run", {"payload": typed})
        assert reply.status_code == 400, typed
        assert said in " ".join(field_errors(reply.text, "payload")), typed


async def test_pause_with_a_note_then_resume(site: Console, ann: User) -> None:
    job_id = await ann.create()
    await ann.post(f"/jobs/{job_id}/pause", {"reason": "database migration"})
    obj = next(iter(site.kube.jobs.values()))
    assert obj["spec"]["suspend"] is True
    assert obj["metadata"]["annotations"]["almanac.dev/suspend-reason"] == "database migration"
    page = await ann.get(f"/jobs/{job_id}")
    assert "Paused: database migration" in page.text
    assert f'action="/console/jobs/{job_id}/resume"' in page.text
    await ann.post(f"/jobs/{job_id}/resume")
    assert next(iter(site.kube.jobs.values()))["spec"]["suspend"] is False


async def test_runs_from_history_with_result_log_and_retry(site: Console, ann: User) -> None:
    job_id = await ann.create()
    obj = next(iter(site.kube.jobs.values()))
    ok = await site.finished_run(obj, RunPhase.SUCCEEDED, minutes_ago=90, log="hello\nworld\n")
    bad = await site.finished_run(obj, RunPhase.FAILED, minutes_ago=30, error="exit code 3")
    page = (await ann.get(f"/jobs/{job_id}")).text
    assert f'data-run-id="{ok.run_name}"' in page
    assert "r-completed" in page
    assert f'action="/console/jobs/{job_id}/runs/{bad.run_name}/retry"' in page
    assert f'action="/console/jobs/{job_id}/runs/{ok.run_name}/retry"' not in page
    run = (await ann.get(f"/jobs/{job_id}/runs/{ok.run_name}")).text
    assert "hello\nworld" in run
    retried = await ann.post(f"/jobs/{job_id}/runs/{bad.run_name}/retry")
    assert retried.status_code == 303, retried.text
    assert [r["spec"]["kind"] for r in site.kube.requests.values()] == ["retry"]


def events_table(html: str) -> list[tuple[str, str]]:
    """(reason, message) of each row of the job page's Events table, top to bottom."""
    table = re.search(r'<table class="events">(.*?)</table>', html, re.S)
    assert table is not None, "no Events table"
    rows = re.findall(
        r'<tr data-event-reason="[^"]*">.*?<th scope="row">(.*?)</th>\s*<td>(.*?)</td>',
        table.group(1),
        re.S,
    )
    return [(reason, message) for reason, message in rows]


async def test_the_job_page_lists_its_events_newest_first(site: Console, ann: User) -> None:
    job_id = await ann.create()
    other_id = await ann.create(name="Other")
    obj = site.kube._find("org-101", job_id)
    other = site.kube._find("org-101", other_id)
    site.event(obj, "Launched", "run nightly-1 for slot 2026-03-02T11:00:00Z", minutes_ago=60)
    site.event(obj, "Failed", "run nightly-1 failed: exit code 3", minutes_ago=58)
    site.event(other, "Skipped", "1 slot(s) skipped: suspended", minutes_ago=1)
    page = (await ann.get(f"/jobs/{job_id}")).text
    assert events_table(page) == [
        ("Failed", "run nightly-1 failed: exit code 3"),
        ("Launched", "run nightly-1 for slot 2026-03-02T11:00:00Z"),
    ]
    assert 'class="badge ev-warning">Warning' in page
    assert "2026-03-02 11:02 UTC" in page
    assert "almanac-operator" in page
    # Control: the other job's page has its own Event, and only that one.
    assert events_table((await ann.get(f"/jobs/{other_id}")).text) == [
        ("Skipped", "1 slot(s) skipped: suspended")
    ]


async def test_a_job_without_events_says_so(ann: User) -> None:
    page = (await ann.get(f"/jobs/{await ann.create()}")).text
    assert '<h2 id="events">Events</h2>' in page
    assert "No Events." in page
    assert '<table class="events">' not in page


async def test_events_the_api_server_refuses_leave_the_rest_of_the_page(
    site: Console, ann: User
) -> None:
    job_id = await ann.create()
    site.kube.events_refused = UpstreamError("the Kubernetes API answered 403 Forbidden", "")
    reply = await ann.get(f"/jobs/{job_id}")
    assert reply.status_code == 200
    assert "The job&#39;s Events cannot be read right now" in reply.text
    assert "403 Forbidden" in reply.text
    assert "No Events." not in reply.text
    assert '<h2 id="runs">Runs</h2>' in reply.text


async def test_delete_asks_first_then_removes_the_job(site: Console, ann: User) -> None:
    job_id = await ann.create()
    confirm = await ann.get(f"/jobs/{job_id}/delete")
    assert "Delete the job" in confirm.text
    assert site.kube.jobs
    done = await ann.post(f"/jobs/{job_id}/delete")
    assert done.headers["location"].endswith("/console/jobs?notice=deleted")
    assert not site.kube.jobs


async def test_a_schema_violation_is_shown_next_to_the_parameters(site: Console, ann: User) -> None:
    reply = await ann.post("/jobs/new", job_body(name="Broken", payload='{"command": 5}'))
    assert reply.status_code == 400
    assert field_errors(reply.text, "payload")
    assert "payload.command" in " ".join(field_errors(reply.text, "payload"))
    assert 'value="Broken"' in reply.text  # what was typed is kept
    editor_errors = re.search(r'id="payload-errors">(.*?)</script>', reply.text, re.S)
    assert editor_errors is not None
    assert json.loads(editor_errors.group(1))[0]["path"] == "payload.command"
    assert not site.kube.jobs


async def test_a_bad_schedule_is_shown_next_to_its_field(ann: User) -> None:
    reply = await ann.post("/jobs/new", job_body(cron="61 2 * * *", timezone="Mars/Base"))
    assert reply.status_code == 400
    assert field_errors(reply.text, "timezone")
    reply = await ann.post("/jobs/new", job_body(cron="61 2 * * *"))
    assert "61" in " ".join(field_errors(reply.text, "schedule"))


async def test_edit_and_clone(site: Console, ann: User) -> None:
    job_id = await ann.create()
    form = (await ann.get(f"/jobs/{job_id}/edit")).text
    assert 'value="Nightly"' in form
    saved = await ann.post(f"/jobs/{job_id}/edit", job_body(name="Nightly v2", cron="0 3 * * *"))
    assert saved.status_code == 303, saved.text
    obj = next(iter(site.kube.jobs.values()))
    assert obj["spec"]["schedule"]["cron"] == "0 3 * * *"
    clone = (await ann.get("/jobs/new", clone=job_id)).text
    assert 'value="Copy of Nightly v2"' in clone


async def test_export_then_import_makes_the_same_job(site: Console, ann: User) -> None:
    job_id = await ann.create(tags="a")
    exported = await ann.get(f"/jobs/{job_id}/export")
    assert exported.headers["content-type"].startswith("application/yaml")
    text = exported.text.replace("name: Nightly", "name: Imported")
    imported = await ann.post("/import", {"yaml": text})
    assert imported.status_code == 303, imported.text
    names = sorted(
        o["metadata"]["annotations"]["almanac.dev/display-name"] for o in site.kube.jobs.values()
    )
    assert names == ["Imported", "Nightly"]
    refused = await ann.post("/import", {"yaml": "name: X\ntype: command\nschedul: '0 0 * * *'\n"})
    assert refused.status_code == 400
    assert "schedul" in " ".join(field_errors(refused.text, "yaml"))


async def test_the_preview_the_editor_fetches(ann: User) -> None:
    reply = await ann.get(
        "/preview", schedule_kind="cron", cron="30 2 * * *", timezone="Europe/Berlin"
    )
    data = reply.json()
    assert len(data["slots"]) == 10
    assert data["slots"][0]["instant"] == "2026-03-03T02:30:00+01:00"
    bad = (await ann.get("/preview", schedule_kind="every", every="")).json()
    assert bad["error"]["field"] == "every"


async def test_the_calendar_shows_past_runs_and_upcoming_slots(site: Console, ann: User) -> None:
    job_id = await ann.create(cron="0 15 * * *", timezone="UTC")
    obj = next(iter(site.kube.jobs.values()))
    await site.finished_run(obj, RunPhase.FAILED, minutes_ago=120)
    page = (await ann.get("/calendar", view="week", start="2026-03-02")).text
    assert page.count('class="entry r-upcoming"') == 7  # 15:00 from Monday to Sunday
    assert page.count('class="entry r-failed"') == 1
    assert f"/console/jobs/{job_id}" in page
