"""A list's page links: the same query with the offset moved, absent past either end."""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

from starlette.requests import Request

from almanac.api.routes.common import page_meta


def _request(query: str) -> Request:
    scope = {
        "type": "http",
        "method": "GET",
        "path": "/api/scheduler/v1/jobs",
        "query_string": query.encode(),
        "headers": [],
        "server": ("facade", 80),
        "scheme": "http",
    }
    return Request(scope)


def test_a_middle_page_links_both_ways_keeping_every_filter() -> None:
    meta = page_meta(_request("tags=a&tags=b&sort=-name&limit=2&offset=2"), 5, 2, 2)
    assert meta.next is not None
    assert meta.previous is not None
    after = urlsplit(meta.next)
    assert after.path == "/api/scheduler/v1/jobs"
    assert parse_qs(after.query) == {
        "tags": ["a", "b"],
        "sort": ["-name"],
        "limit": ["2"],
        "offset": ["4"],
    }
    assert parse_qs(urlsplit(meta.previous).query)["offset"] == ["0"]


def test_the_first_and_last_pages_have_no_link_past_their_end() -> None:
    first = page_meta(_request("limit=2"), 3, 2, 0)
    assert first.previous is None
    assert first.next is not None
    assert "offset=2" in first.next
    last = page_meta(_request("limit=2&offset=2"), 3, 2, 2)
    assert last.next is None
    only = page_meta(_request(""), 0, 50, 0)
    assert (only.next, only.previous) == (None, None)


def test_an_offset_inside_the_first_page_links_back_to_the_start() -> None:
    meta = page_meta(_request("limit=10&offset=3"), 30, 10, 3)
    assert meta.previous is not None
    assert "offset=0" in meta.previous
