"""Helpers of the console's page tests: a signed-in browser-like client per user."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

import httpx

from almanac.console.security import CSRF_COOKIE
from tests.unit.console.fakes import Console, identity

__all__ = ["User", "field_errors", "job_body"]


def job_body(**fields: str) -> dict[str, str]:
    """The create form as a browser posts it."""
    return {
        "name": "Nightly",
        "type": "command",
        "payload": '{"command": ["echo", "hi"]}',
        "schedule_kind": "cron",
        "cron": "30 2 * * *",
        "timezone": "Europe/Berlin",
    } | fields


def field_errors(html: str, name: str) -> list[str]:
    """The messages the page shows next to field ``name``."""
    block = re.search(
        rf'<ul class="field-errors" id="err-{re.escape(name)}">(.*?)</ul>', html, re.S
    )
    return re.findall(r"<li>(.*?)</li>", block.group(1), re.S) if block else []


@dataclass
class User:
    """One person of one organisation, with this browser's CSRF cookie."""

    console: Console
    org_id: str
    username: str = "ann"
    admin: bool = False

    @property
    def headers(self) -> dict[str, str]:
        return identity(self.org_id, self.username, admin=self.admin)

    async def get(self, path: str, **params: Any) -> httpx.Response:
        return await self.console.http.get(
            f"/console{path}", params=params or None, headers=self.headers
        )

    async def token(self) -> str:
        if CSRF_COOKIE not in self.console.http.cookies:
            await self.get("/jobs")
        return str(self.console.http.cookies[CSRF_COOKIE])

    async def post(
        self, path: str, data: dict[str, str] | None = None, headers: dict[str, str] | None = None
    ) -> httpx.Response:
        body = {"csrf_token": await self.token()} | (data or {})
        return await self.console.http.post(
            f"/console{path}", data=body, headers=self.headers | (headers or {})
        )

    async def create(self, **fields: str) -> str:
        """A job made through the form; its id."""
        reply = await self.post("/jobs/new", job_body(**fields))
        assert reply.status_code == 303, reply.text
        location = reply.headers["location"]
        return location.split("/jobs/")[1].split("?")[0]
