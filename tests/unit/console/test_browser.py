"""The console in a real browser (Debian's Chromium) over the in-memory fakes: the template
form made by JSON Editor, the live preview, a schema violation on its field, no CSP
violation and no axe-core violation on any page, and a screenshot of each page.

Fast (one browser, one server for the module) and needs no stack; the same flows against
the stack are in tests/integration/console.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

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
    screenshot(page, "schema-violation")


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
        violations = axe_violations(page)
        if violations:
            found[name] = violations
        screenshot(page, name)
    assert found == {}, describe([{"page": k, "violations": v} for k, v in found.items()])
