"""The console on the stack: a facade process with the dev sign-in on and a read-only
user, an operator replica to run the jobs, one Chromium, and organisations whose
namespaces are removed after each test."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

import pytest
from playwright.sync_api import Browser, BrowserContext, Page

from almanac.api import encode_identity
from tests.integration.api.conftest import (
    DEFAULT_MESSAGE_TOPIC,
    EXPORT_SERVICE_URL,
    FacadeProcess,
)
from tests.integration.operator_support import module_operator
from tests.support import Kubectl
from tests.support.browser import REPO, chromium
from tests.support.operator import OperatorProcess

#: The read-only user of the console facade (ALMANAC_API_READONLY_USERS).
VIEWER: Final = "viewer"
#: Where the tests leave a screenshot of each page for docs/console.md.
SHOTS: Final = REPO / "docs" / "images" / "console"


@pytest.fixture(scope="session")
def console_facade(
    crds: Kubectl, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[FacadeProcess]:
    process = FacadeProcess(
        tmp_path_factory.mktemp("console-facade") / "facade.log",
        env={
            "ALMANAC_EXPORT_SERVICE_URL": EXPORT_SERVICE_URL,
            "ALMANAC_API_DEFAULT_MESSAGE_TOPIC": DEFAULT_MESSAGE_TOPIC,
            "ALMANAC_CONSOLE_DEV_LOGIN": "true",
            "ALMANAC_API_READONLY_USERS": VIEWER,
        },
    )
    process.start()
    try:
        yield process
    finally:
        process.stop()


@pytest.fixture(scope="module")
def operator(crds: Kubectl, tmp_path_factory: pytest.TempPathFactory) -> Iterator[OperatorProcess]:
    with module_operator("console", tmp_path_factory) as replica:
        yield replica


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with chromium() as made:
        yield made


@dataclass
class Person:
    """Someone of one organisation in their own browser context (the gateway's header)."""

    org_id: str
    username: str
    page: Page
    base: str
    kubectl: Kubectl

    @property
    def namespace(self) -> str:
        return f"org-{self.org_id}"

    def go(self, path: str) -> Page:
        self.page.goto(f"{self.base}/console{path}")
        return self.page


@pytest.fixture
def people(browser: Browser, console_facade: FacadeProcess, kubectl: Kubectl) -> Iterator[Any]:
    """Factory: ``people(org_id=None, username="ann", admin=True)``; a new org id when
    none is given. Contexts are closed and namespaces deleted after the test."""
    contexts: list[BrowserContext] = []
    orgs: set[str] = set()

    def make(org_id: str | None = None, username: str = "ann", *, admin: bool = True) -> Person:
        org = org_id or uuid.uuid4().hex[:10]
        orgs.add(org)
        context = browser.new_context(
            extra_http_headers={
                "x-rh-identity": encode_identity(org, username, is_org_admin=admin)
            },
            viewport={"width": 1280, "height": 900},
        )
        contexts.append(context)
        return Person(
            org,
            username,
            context.new_page(),
            console_facade.url,
            kubectl.in_namespace(f"org-{org}"),
        )

    yield make
    for context in contexts:
        context.close()
    for org in orgs:
        kubectl.run("delete", "namespace", f"org-{org}", "--wait=false", "--ignore-not-found")


def shot(page: Page, name: str) -> Path:
    """Save ``docs/images/console/<name>.png`` (what docs/console.md shows)."""
    SHOTS.mkdir(parents=True, exist_ok=True)
    path = SHOTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path
