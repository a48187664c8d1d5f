"""The console in a real browser (Debian's Chromium) over the in-memory fakes: the template
form made by JSON Editor (for a new job and for a run-now), the live preview, a schema
violation on its field, no CSP violation and no axe-core violation on any page, and a
screenshot of each page.

Fast (one browser, one server for the module) and needs no stack; the same flows against
the stack are in tests/integration/console.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
from playwright.sync_api import Browser, BrowserContext, Page, expect

from almanac.api import ApiSettings, encode_identity
from almanac.core.status import RunPhase
from tests.support.browser import axe_violations, chromium, describe, screenshot
from tests.unit.console.fakes import Console
from tests.unit.console.server import Served, served

pytestmark = pytest.mark.timeout(120)
#: The first argv item of the command template's form, as JSON Editor draws it.
COMMAND_ITEM = "#params-editor input[name='payload[command][0]']"
#: The same item in the run-now form of a job's page.
RUN_ITEM = "#run-params-editor input[name='payload[command][0]']"


@pytest.fixture(scope="module")
def site() -> Iterator[Served]:
    with served(ApiSettings(readonly_users=frozenset({"val"}))) as made:
        yield made


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with chromium() as made:
        yield made


@pytest.fixture
def page(browser: Browser) -> Iterator[Page]:
    context: BrowserContext = browser.new_context(
        extra_http_headers={"x-rh-identity": encode_identity("101", "ann", is_org_admin=True)},
        viewport={"width": 1280, "height": 900},
    )
    made = context.new_page()
    refused: list[str] = []
    made.on(
        "console", lambda m: refused.append(m.text) if "Content Security Policy" in m.text else None
    )
    made.on("pageerror", lambda e: refused.append(f"script error: {e}"))
    yield made
    context.close()
    assert refused == [], refused


def create_with_the_form(page: Page, url: str, name: str) -> None:
    page.goto(f"{url}/console/jobs/new?template=command")
    expect(page.locator(COMMAND_ITEM)).to_be_visible()
    page.fill("#f-name", name)
    page.check("input[name=schedule_kind][value=cron]")
    page.select_option("#b-preset", "daily")
    page.fill("#b-time", "02:30")
    page.click("#b-apply")
    page.fill("#f-timezone", "Europe/Berlin")
    expect(page.locator("#preview-slots li")).to_have_count(10)


def test_a_job_made_with_the_template_form(site: Served, page: Page) -> None:
    create_with_the_form(page, site.url, "Browser made")
    screenshot(page, "new-job")
    page.fill(COMMAND_ITEM, "echo")
    page.click("#save")
    expect(page.locator("h1")).to_have_text("Browser made")
    expect(page.locator("[data-testid=job-status]")).to_have_text("scheduled")
    obj = next(
        o
        for o in site.kube.jobs.values()
        if o["metadata"]["annotations"].get("almanac.dev/display-name") == "Browser made"
    )
    assert obj["spec"]["schedule"] == {"cron": "30 2 * * *", "timeZone": "Europe/Berlin"}
    assert obj["spec"]["params"] == {"command": ["echo"]}


def test_the_preview_marks_a_dst_change(site: Served, page: Page) -> None:
    page.goto(f"{site.url}/console/jobs/new?template=command")
    page.fill("#f-timezone", "Europe/Berlin")
    page.fill("#f-start_date", "2026-03-27T00:00")
    page.fill("#f-cron", "30 2 * * *")
    marked = page.locator("#preview-slots li.dst")
    expect(marked.first).to_contain_text("does not exist on this day")
    expect(page.locator("#preview-rules")).to_contain_text("wall-clock rule")
    screenshot(page, "schedule-preview")


def test_a_schema_violation_is_shown_on_the_field(site: Served, page: Page) -> None:
    create_with_the_form(page, site.url, "Violating")
    page.select_option("#params-editor select.je-switcher", "string")
    text = page.locator("#params-editor input[name='payload[command]']")
    text.fill("")  # the schema wants at least one character
    text.dispatch_event("change")
    page.click("#save")
    expect(page.locator("#error-summary")).to_be_visible()
    expect(page.locator("#err-payload")).to_contain_text("payload.command")
    refused = page.locator("#params-editor div[data-schemapath='payload.command']").first
    expect(refused).to_contain_text("matches none of the allowed shapes")
    screenshot(page, "schema-violation")


def made_job(site: Served, page: Page, name: str, first_word: str) -> dict[str, Any]:
    """A job made with the form (command ``[first_word]``), its page open; its object."""
    create_with_the_form(page, site.url, name)
    page.fill(COMMAND_ITEM, first_word)
    page.click("#save")
    expect(page.locator("h1")).to_have_text(name)
    return next(
        o
        for o in site.kube.jobs.values()
        if o["metadata"]["annotations"].get("almanac.dev/display-name") == name
    )


def requests_of(site: Served, obj: dict[str, Any]) -> list[dict[str, Any]]:
    uid = obj["metadata"]["uid"]
    return [
        r
        for r in site.kube.requests.values()
        if r["metadata"]["labels"]["almanac.dev/scheduledjob-uid"] == uid
    ]


def test_run_now_with_the_form_the_templates_schema_makes(site: Served, page: Page) -> None:
    obj = made_job(site, page, "Run with a form", "echo")
    page.click("#run-form summary")
    item = page.locator(RUN_ITEM)
    expect(item).to_have_value("echo")  # started from the job's own parameters
    expect(page.locator("#run-payload")).to_be_hidden()  # the no-script text box
    screenshot(page, "run-now-form")
    item.fill("date")
    item.dispatch_event("change")
    page.click("#run-now")
    expect(page.locator(".notice")).to_contain_text("A run was asked for")
    [request] = requests_of(site, obj)
    assert request["spec"]["params"] == {"command": ["date"]}
    assert obj["spec"]["params"] == {"command": ["echo"]}  # for this run only


def test_an_untouched_run_now_form_asks_for_the_jobs_own_parameters(
    site: Served, page: Page
) -> None:
    """A shell line (the string branch, ``shell: true`` added by the facade) comes back
    from the generated form as it is, so the run is the job's own."""
    create_with_the_form(page, site.url, "Shell line")
    page.select_option("#params-editor select.je-switcher", "string")
    line = page.locator("#params-editor input[name='payload[command]']")
    line.fill("echo hello")
    line.dispatch_event("change")
    page.click("#save")
    expect(page.locator("h1")).to_have_text("Shell line")
    obj = next(
        o
        for o in site.kube.jobs.values()
        if o["metadata"]["annotations"].get("almanac.dev/display-name") == "Shell line"
    )
    page.click("#run-now")  # the parameters left folded away
    expect(page.locator(".notice")).to_contain_text("A run was asked for")
    [request] = requests_of(site, obj)
    assert (
        request["spec"]["params"]
        == obj["spec"]["params"]
        == {
            "command": "echo hello",
            "shell": True,
        }
    )


def test_a_run_now_schema_violation_is_shown_on_the_field(site: Served, page: Page) -> None:
    obj = made_job(site, page, "Run refused", "echo")
    page.click("#run-form summary")
    page.select_option("#run-params-editor select.je-switcher", "string")
    text = page.locator("#run-params-editor input[name='payload[command]']")
    text.fill("")  # the schema wants at least one character
    text.dispatch_event("change")
    page.click("#run-now")
    expect(page.locator("#error-summary")).to_be_visible()
    expect(page.locator("#err-payload")).to_contain_text("payload.command")
    # The form is drawn again, the server's messages on the refused field.
    refused = page.locator("#run-params-editor div[data-schemapath='payload.command']").first
    expect(refused).to_contain_text("matches none of the allowed shapes")
    screenshot(page, "run-now-violation")
    assert requests_of(site, obj) == []


def test_every_page_is_axe_clean(site: Served, page: Page) -> None:
    create_with_the_form(page, site.url, "Axe checked")
    page.fill(COMMAND_ITEM, "true")
    page.click("#save")
    job_path = page.url.split("?")[0].removeprefix(site.url)
    obj = next(
        o
        for o in site.kube.jobs.values()
        if o["metadata"]["annotations"].get("almanac.dev/display-name") == "Axe checked"
    )
    history = Console(None, site.kube, site.store, site.service)  # type: ignore[arg-type]
    run = history.finished_run(obj, RunPhase.SUCCEEDED, log="hello from the run\n")
    with ThreadPoolExecutor(1) as thread:  # Playwright's sync API holds this thread's loop
        record = thread.submit(asyncio.run, run).result()
    history.event(obj, "Launched", f"run {record.run_name} for slot {record.slot.isoformat()}")
    history.event(obj, "Failed", "run failed: exit code 3", minutes_ago=1)
    pages = {
        "jobs": "/console/jobs",
        "job": job_path,
        "run": f"{job_path}/runs/{record.run_name}",
        "edit": f"{job_path}/edit",
        "new-job-form": "/console/jobs/new",
        "delete": f"{job_path}/delete",
        "calendar": "/console/calendar?start=2026-03-02",
        "import": "/console/import",
    }
    found = {}
    for name, path in pages.items():
        page.goto(site.url + path)
        page.wait_for_load_state("networkidle")
        if name == "job":  # its Events table, and the run-now form opened
            expect(page.locator("table.events tbody tr")).to_have_count(2)
            page.click("#run-form summary")
            expect(page.locator(RUN_ITEM)).to_be_visible()
        violations = axe_violations(page)
        if violations:
            found[name] = violations
        screenshot(page, name)
    assert found == {}, describe([{"page": k, "violations": v} for k, v in found.items()])
