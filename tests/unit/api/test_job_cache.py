"""The facade's watched copy of ScheduledJobs (through the operator's one watch): the first
list makes a namespace's copy, watch events and the facade's own writes keep it current,
and a namespace that cannot be listed falls back to the API server (None)."""

from __future__ import annotations

import asyncio
import json
from typing import Any

from kubernetes_asyncio import client
from kubernetes_asyncio.client.exceptions import ApiException

from almanac.api.cache import JobCache


def scheduled_job(name: str, uid: str, version: int) -> dict[str, Any]:
    return {
        "metadata": {
            "name": name,
            "namespace": "org-1",
            "uid": uid,
            "resourceVersion": str(version),
        }
    }


class Reply:
    status, reason = 200, "OK"

    def __init__(self, items: list[dict[str, Any]]) -> None:
        self._body = json.dumps({"items": items, "metadata": {"resourceVersion": "9"}}).encode()

    async def read(self) -> bytes:
        return self._body


class Lister:
    """Answers the list; the watch then waits until cancelled (no events)."""

    def __init__(self, items: list[dict[str, Any]], fail: bool = False) -> None:
        self.items, self.fail = items, fail

    async def __call__(self, namespace: str, **options: Any) -> Reply:
        if self.fail:
            raise ApiException(status=403, reason="Forbidden")
        if options.get("watch"):
            await asyncio.Event().wait()
        return Reply(self.items)


def cache_with(lister: Lister) -> JobCache:
    cache = JobCache(client.ApiClient())
    cache._lister = lister
    return cache


async def test_the_first_list_makes_the_copy_and_own_writes_show_at_once() -> None:
    cache = cache_with(Lister([scheduled_job("a", "u1", 5)]))
    try:
        listed = await asyncio.wait_for(cache.list("org-1"), 5)
        assert [j["metadata"]["name"] for j in listed or []] == ["a"]
        cache.written(scheduled_job("b", "u2", 6))
        cache.written(scheduled_job("a", "u1", 4))  # older than what the copy holds: ignored
        later = await cache.list("org-1")
        assert sorted(
            (j["metadata"]["name"], j["metadata"]["resourceVersion"]) for j in later or []
        ) == [
            ("a", "5"),
            ("b", "6"),
        ]
        cache.deleted(scheduled_job("b", "u2", 7))
        assert [j["metadata"]["name"] for j in await cache.list("org-1") or []] == ["a"]
    finally:
        await cache.close()


async def test_a_namespace_that_cannot_be_listed_falls_back_to_the_api_server() -> None:
    cache = cache_with(Lister([], fail=True))
    try:
        assert await asyncio.wait_for(cache.list("org-1"), 5) is None
    finally:
        await cache.close()
