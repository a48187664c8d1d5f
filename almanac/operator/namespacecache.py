"""The operator's recent view of namespaces' policies (organisation, Kafka topics).

Launches and trigger routing consult a namespace's topic allow-list
(:mod:`almanac.core.topicpolicy`) many times a second; reading the namespace each time
would double the API calls of a launch. Entries live ``ttl`` (30 s): a platform narrowing a
namespace's topics takes effect within that time. When the API server cannot answer, the
last known policy is used; with none known, the error reaches the caller, which retries
(a launch) or counts the event failed (routing): a namespace is never assumed open.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable

from almanac.core.namespaces import NamespacePolicy

__all__ = ["NamespaceCache"]


class NamespaceCache:
    """Namespace → :class:`NamespacePolicy`, read through ``read`` at most once per ``ttl``."""

    def __init__(
        self,
        read: Callable[[str], Awaitable[NamespacePolicy]],
        *,
        ttl: float = 30.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._read = read
        self._ttl = ttl
        self._clock = clock
        self._entries: dict[str, tuple[float, NamespacePolicy]] = {}

    async def get(self, namespace: str) -> NamespacePolicy:
        now = self._clock()
        known = self._entries.get(namespace)
        if known is not None and now - known[0] < self._ttl:
            return known[1]
        try:
            policy = await self._read(namespace)
        except Exception:
            if known is not None:
                return known[1]
            raise
        self._entries[namespace] = (now, policy)
        return policy

    def org_of(self, namespace: str) -> str | None:
        """The ``almanac.dev/org-id`` label last read for ``namespace``, however old
        (``None``: not labelled, or never read). Never reads, so a caller that must not
        wait (the run recorder) may ask."""
        known = self._entries.get(namespace)
        return None if known is None else known[1].org_id

    def forget(self, namespace: str) -> None:
        self._entries.pop(namespace, None)
