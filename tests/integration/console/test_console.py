"""The web console on the real stack, in Chromium (#24): a job created from the template's
form is a ScheduledJob (``kubectl get sj``); run now (its parameters in the template's
form, left as the job's) succeeds, its log shows in the run's page and the operator's
RunNow Event on the job's page; pause with a note and resume reach the object; a schema
violation shows on its field; a viewer signed in through the dev page has no buttons and
is refused; a second organisation sees nothing of the first. Each page's screenshot lands
in docs/images/console.
"""

from __future__ import annotations

import re
from typing import Any

from playwright.sync_api import expect

from tests.integration.console.conftest import VIEWER, Person, shot
from tests.support.browser import eventually_in_page
from tests.support.operator import OperatorProcess

GREETING = "hello-from-the-console"


def create_job(person: Person, name: str, command: str) -> str:
    """A job made with the command template's form (a shell line); its console path."""
    page = person.go("/jobs/new?template=command")
    page.fill("#f-name", name)
    page.select_option("#params-editor select.je-switcher", "string")
    line = page.locator("#params-editor input[name='payload[command]']")
    line.fill(command)
    line.dispatch_event("change")
    page.select_option("#b-preset", "daily")
    page.fill("#b-time", "02:30")
    page.click("#b-apply")
    page.fill("#f-timezone", "Europe/Berlin")
    expect(page.locator("#preview-slots li")).to_have_count(10)
    # The preview follows the zone (Berlin's winter offset) before the picture is taken.
    expect(page.locator("#preview-slots li").first).to_contain_text("UTC+01:00, Europe/Berlin")
    shot(page, "new-job")
    page.click("#save")
    expect(page.locator("h1")).to_have_text(name)
    return page.url.split("?")[0].split("/console", 1)[1]


def test_create_run_pause_and_resume_a_job(people: Any, operator: OperatorProcess) -> None:
    ann: Person = people()
    path = create_job(ann, "Console greeting", f"echo {GREETING}")
    page = ann.page
    resource = page.locator("dd code").filter(has_text="get sj").inner_text().split()[-1]
    listed = ann.kubectl.run("get", "sj")
    assert resource in listed, listed
    shot(page, "job")

    page.click("form[action$='/run'] button[type=submit]")
    expect(page.locator(".notice")).to_contain_text("A run was asked for")

    def succeeded() -> str | None:
        ann.go(path)
        row = page.locator("tr[data-run-id]").filter(has=page.locator(".r-completed"))
        return row.first.get_attribute("data-run-id") if row.count() else None

    run_id = eventually_in_page(page, succeeded, timeout=180, what="a completed run in the history")
    # The operator's Event of the run-now, in the job's Events (the page was just loaded).
    run_now = page.locator("table.events tr[data-event-reason=RunNow]")
    expect(run_now.first).to_contain_text(run_id)
    shot(page, "job-with-runs")
    ann.go(f"{path}/runs/{run_id}")
    expect(page.locator("[data-testid=run-status]")).to_have_text("completed")
    expect(page.locator("[data-testid=run-log]")).to_contain_text(GREETING)
    shot(page, "run")

    ann.go(path)
    page.fill("#reason", "maintenance window")
    page.click("form[action$='/pause'] button[type=submit]")
    expect(page.locator("[data-testid=job-status]")).to_have_text("paused")
    expect(page.locator(".note")).to_contain_text("maintenance window")
    assert ann.kubectl.get("sj", resource)["spec"]["suspend"] is True
    page.click("form[action$='/resume'] button[type=submit]")
    expect(page.locator("[data-testid=job-status]")).not_to_have_text("paused")
    assert ann.kubectl.get("sj", resource)["spec"]["suspend"] is False

    ann.go("/jobs")
    expect(page.locator("tbody tr")).to_have_count(1)
    expect(page.locator("tbody")).to_contain_text("at 02:30 Europe/Berlin every day")
    shot(page, "jobs")
    ann.go("/calendar")
    expect(page.locator(".calendar .entry").first).to_be_visible()
    shot(page, "calendar")


def test_a_schema_violation_is_shown_on_its_field(people: Any) -> None:
    ann: Person = people()
    page = ann.go("/jobs/new?template=command")
    page.fill("#f-name", "Broken")
    page.select_option("#params-editor select.je-switcher", "string")
    line = page.locator("#params-editor input[name='payload[command]']")
    line.fill("")
    line.dispatch_event("change")
    page.fill("#f-cron", "0 3 * * *")
    page.click("#save")
    expect(page.locator("#error-summary")).to_be_visible()
    expect(page.locator("#err-payload")).to_contain_text("payload.command")
    shot(page, "schema-violation")
    assert "Broken" not in ann.kubectl.run("get", "sj", "-o", "yaml")


def test_a_viewer_signed_in_on_the_dev_page_cannot_edit(people: Any, browser: Any) -> None:
    ann: Person = people()
    path = create_job(ann, "Viewed only", "true")
    context = browser.new_context(viewport={"width": 1280, "height": 900})  # no header
    try:
        page = context.new_page()
        page.goto(f"{ann.base}/console{path}")
        expect(page).to_have_url(re.compile(r"/console/login"))
        shot(page, "dev-sign-in")
        page.fill("#f-org_id", ann.org_id)
        page.fill("#f-username", VIEWER)
        page.click("button[type=submit]")
        expect(page.locator("[data-testid=role]")).to_have_text("viewer")
        expect(page.locator("h1")).to_have_text("Viewed only")
        for action in ("run", "pause", "edit", "delete"):
            expect(page.locator(f"[action$='/{action}'], [href$='/{action}']")).to_have_count(0)
        token = page.context.cookies()
        csrf = next(c["value"] for c in token if c["name"] == "almanac_csrf")
        refused = page.request.post(
            f"{ann.base}/console{path}/pause",
            form={"csrf_token": csrf, "reason": "not mine"},
            headers={"origin": ann.base},
        )
        assert refused.status == 403, refused.text()
        assert "read-only role" in refused.text()
        resource = (
            ann.go(path).locator("dd code").filter(has_text="get sj").inner_text().split()[-1]
        )
        assert not ann.kubectl.get("sj", resource)["spec"].get("suspend")
    finally:
        context.close()


def test_a_second_organisation_sees_nothing_of_the_first(people: Any) -> None:
    ann: Person = people()
    path = create_job(ann, "First org's job", "true")
    eve: Person = people(username="eve")
    page = eve.go("/jobs")
    expect(page.locator(".count")).to_contain_text("0 jobs")
    expect(page.locator("body")).not_to_contain_text("First org's job")
    reply = page.goto(f"{eve.base}/console{path}")
    assert reply is not None
    assert reply.status == 404
    expect(page.locator("body")).not_to_contain_text("First org's job")
    # Control: the first organisation still sees it.
    expect(ann.go("/jobs").locator("tbody")).to_contain_text("First org's job")
