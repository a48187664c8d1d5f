"""Debian's Chromium driven by Playwright, for the console's browser tests.

No browser can be downloaded here, so Playwright drives ``/usr/bin/chromium`` (the stack
installs the Debian package: hack/localstack/host.py). axe-core comes from the console's
locked npm assets (``hack/console/assets``, run by ``make install``); a missing browser or
asset fails the test with the command that fixes it, never a skip.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Final, TypeVar

from playwright.sync_api import Browser, Page, sync_playwright

__all__ = [
    "AXE",
    "CHROMIUM",
    "axe_violations",
    "chromium",
    "eventually_in_page",
    "screenshot",
]

T = TypeVar("T")

REPO: Final = Path(__file__).resolve().parents[2]
CHROMIUM: Final = Path(os.environ.get("ALMANAC_CHROMIUM", "/usr/bin/chromium"))
AXE: Final = REPO / "console" / "node_modules" / "axe-core" / "axe.min.js"
ARGS: Final = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
)
#: Where screenshots go when ALMANAC_CONSOLE_SCREENSHOTS names a folder (the docs' images
#: are made so: docs/images/console).
SHOTS_VARIABLE: Final = "ALMANAC_CONSOLE_SCREENSHOTS"


@contextmanager
def chromium() -> Iterator[Browser]:
    """A headless Chromium for one test module."""
    assert CHROMIUM.exists(), (
        f"{CHROMIUM} is missing: apt-get install -y chromium (hack/stack installs it), or "
        "point ALMANAC_CHROMIUM at a Chromium"
    )
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=list(ARGS))
        try:
            yield browser
        finally:
            browser.close()


def axe_violations(page: Page) -> list[dict[str, Any]]:
    """axe-core's WCAG 2 A/AA violations on the page as it is now (rule id, help, nodes)."""
    assert AXE.exists(), f"{AXE} is missing: run hack/console/assets (make install does)"
    # Evaluated through the DevTools protocol: the page's CSP (no inline script) stays on.
    page.evaluate(AXE.read_text())
    result = page.evaluate(
        "async () => (await axe.run(document, {runOnly: {type: 'tag', values: "
        "['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'best-practice']}})).violations"
    )
    return [
        {"id": v["id"], "help": v["help"], "nodes": [n["html"][:200] for n in v["nodes"]]}
        for v in result
    ]


def describe(violations: list[dict[str, Any]]) -> str:
    return json.dumps(violations, indent=2)


def screenshot(page: Page, name: str, folder: Path | None = None) -> Path:
    """A full-page screenshot named ``<name>.png`` in ``folder``, else in the folder
    ALMANAC_CONSOLE_SCREENSHOTS names, else beside the test's temporary files."""
    target = folder or Path(os.environ.get(SHOTS_VARIABLE) or REPO / "build" / "console-shots")
    target.mkdir(parents=True, exist_ok=True)
    path = target / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path


def eventually_in_page(
    page: Page,
    check: Callable[[], T | None],
    *,
    timeout: float,
    interval: float = 1.0,
    what: str = "condition",
) -> T:
    """The synchronous counterpart of :func:`tests.support.eventually` for Playwright's
    sync API (whose loop owns the thread): ``check`` until it returns a value or passes
    without an AssertionError, waiting with the page's own timer in between."""
    deadline = time.monotonic() + timeout
    last: AssertionError | None = None
    while True:
        try:
            found = check()
            if found is not None and found is not False:
                return found
        except AssertionError as exc:
            last = exc
        if time.monotonic() >= deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what}: {last}")
        page.wait_for_timeout(interval * 1000)
