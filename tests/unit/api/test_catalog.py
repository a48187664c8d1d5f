"""Template lookups: cached, refreshed in the background, read in line only when missing
or too old, so a POST never waits for the API server's template reads once warm."""

from __future__ import annotations

import asyncio
from typing import Any, cast

import pytest

from almanac.api.catalog import CACHE_SECONDS, MAX_STALE_SECONDS, Catalog
from almanac.api.errors import BadRequestError, UpstreamError
from almanac.api.kube import KubeFacade
from tests.support.clock import ManualClock


def template(version: str) -> dict[str, Any]:
    return {
        "kind": "ClusterJobTemplate",
        "metadata": {"name": "report"},
        "spec": {"description": version, "paramsSchema": {"type": "object"}},
    }


class Templates:
    """The API server's template reads: counted, answered when the test says so."""

    def __init__(self) -> None:
        self.reads = 0
        self.cancelled = 0
        self.current: dict[str, Any] | None = template("1")
        self.failure: Exception | None = None
        self.hold = asyncio.Event()
        self.hold.set()

    async def get_template(self, namespace: str, name: str) -> dict[str, Any] | None:
        self.reads += 1
        try:
            await self.hold.wait()
        except asyncio.CancelledError:
            self.cancelled += 1
            raise
        if self.failure is not None:
            raise self.failure
        return self.current


@pytest.fixture
def kube() -> Templates:
    return Templates()


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock()


@pytest.fixture
def catalog(kube: Templates, clock: ManualClock) -> Catalog:
    return Catalog(cast(KubeFacade, kube), "img", clock=clock)


async def settle() -> None:
    for _ in range(5):
        await asyncio.sleep(0)


async def version(catalog: Catalog) -> str:
    """Which copy of the template a lookup answered with (its description)."""
    return str((await catalog.get("team-a", "report")).description)


async def test_a_fresh_entry_is_answered_without_reading(
    catalog: Catalog, kube: Templates, clock: ManualClock
) -> None:
    assert await version(catalog) == "1"
    clock.now += CACHE_SECONDS - 0.1
    kube.current = template("2")
    assert await version(catalog) == "1"
    assert kube.reads == 1


async def test_a_stale_entry_answers_at_once_and_is_refreshed_once_in_the_background(
    catalog: Catalog, kube: Templates, clock: ManualClock
) -> None:
    await version(catalog)
    clock.now += CACHE_SECONDS
    kube.current = template("2")
    kube.hold.clear()  # the API server is slow: the lookups must not wait for it
    assert await asyncio.wait_for(version(catalog), timeout=1) == "1"
    assert await asyncio.wait_for(version(catalog), timeout=1) == "1"
    await settle()
    assert kube.reads == 2, "one refresh, however many lookups see the stale entry"
    kube.hold.set()
    await settle()
    assert await version(catalog) == "2"
    assert kube.reads == 2


async def test_a_failed_refresh_keeps_the_answer_and_an_old_one_is_read_in_line(
    catalog: Catalog, kube: Templates, clock: ManualClock, caplog: pytest.LogCaptureFixture
) -> None:
    await version(catalog)
    clock.now += CACHE_SECONDS
    kube.failure = UpstreamError("the Kubernetes API is unreachable", "")
    assert await version(catalog) == "1"
    await settle()
    assert "template refresh failed" in caplog.text
    assert await version(catalog) == "1"  # and the next stale lookup tries again
    await settle()
    assert kube.reads == 3
    clock.now += MAX_STALE_SECONDS
    with pytest.raises(UpstreamError):
        await version(catalog)  # too old to trust: read in line, and its failure shows
    kube.failure = None
    kube.current = template("3")
    assert await version(catalog) == "3"


async def test_a_deleted_template_is_refused_after_the_refresh(
    catalog: Catalog, kube: Templates, clock: ManualClock
) -> None:
    await version(catalog)
    kube.current = None
    clock.now += CACHE_SECONDS
    await version(catalog)  # still the cached template; starts the refresh
    await settle()
    with pytest.raises(BadRequestError, match="unknown type 'report'"):
        await catalog.check_payload("team-a", {"template": "report"})


async def test_closing_cancels_a_refresh_in_flight(
    catalog: Catalog, kube: Templates, clock: ManualClock
) -> None:
    await version(catalog)
    clock.now += CACHE_SECONDS
    kube.hold.clear()
    await version(catalog)
    await settle()
    assert kube.reads == 2
    await catalog.aclose()
    assert kube.cancelled == 1
