"""Namespaces' policies are read at most once per TTL; a failed read falls back to the
last one known, and with none known the error reaches the caller (never "open")."""

from __future__ import annotations

import pytest

from almanac.core.namespaces import NamespacePolicy
from almanac.core.topicpolicy import TopicAllowList
from almanac.operator.namespacecache import NamespaceCache


async def test_reads_once_per_ttl_and_falls_back_to_the_last_known() -> None:
    now = [0.0]
    reads: list[str] = []
    failing = [False]

    async def read(namespace: str) -> NamespacePolicy:
        reads.append(namespace)
        if failing[0]:
            raise ConnectionError("API server down")
        return NamespacePolicy(topics=TopicAllowList.parse(f"{namespace}.*"))

    cache = NamespaceCache(read, ttl=30, clock=lambda: now[0])
    assert (await cache.get("a")).topics.text() == "a.*"
    await cache.get("a")
    assert reads == ["a"]
    now[0] = 31
    failing[0] = True
    assert (await cache.get("a")).topics.text() == "a.*"  # stale, not open
    with pytest.raises(ConnectionError):
        await cache.get("b")
    assert reads == ["a", "a", "b"]


async def test_the_org_label_is_answered_from_what_was_read_without_reading() -> None:
    reads: list[str] = []

    async def read(namespace: str) -> NamespacePolicy:
        reads.append(namespace)
        return NamespacePolicy(org_id="7310042")

    cache = NamespaceCache(read)
    assert cache.org_of("team-a") is None  # never read: not known, and no read started
    assert reads == []
    await cache.get("team-a")
    assert cache.org_of("team-a") == "7310042"
    assert reads == ["team-a"]
