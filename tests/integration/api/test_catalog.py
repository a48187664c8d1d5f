"""Template lookups on the real API server: a template changed or removed with kubectl
reaches the facade's lookups through the background refresh, and until then the lookups
answer from the cache without reading in line."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest

from almanac.api.catalog import CACHE_SECONDS, Catalog
from almanac.api.errors import NotFoundError
from almanac.api.kube import KubeFacade
from almanac.operator.kube import load_api_client
from tests.support import Kubectl, eventually
from tests.support.clock import ManualClock


def template(description: str) -> dict[str, Any]:
    return {
        "apiVersion": "almanac.dev/v1alpha1",
        "kind": "JobTemplate",
        "metadata": {"name": "report"},
        "spec": {
            "image": "localhost/almanac:dev",
            "description": description,
            "paramsSchema": {"type": "object"},
        },
    }


@pytest.fixture
async def kube(stack: dict[str, str], crds: Kubectl) -> AsyncIterator[KubeFacade]:
    # Named explicitly: kubernetes_asyncio reads KUBECONFIG when it is imported, which may
    # be before the stack fixture sets it.
    api = await load_api_client(stack["KUBECONFIG"])
    try:
        yield KubeFacade(api)
    finally:
        await api.close()


async def test_kubectl_changes_reach_lookups_through_the_background_refresh(
    kube: KubeFacade, kubectl: Kubectl, namespace: str
) -> None:
    k = kubectl.in_namespace(namespace)
    k.apply(template("first"))
    clock = ManualClock()  # the catalog's clock moves by hand; the API server stays real
    catalog = Catalog(kube, "localhost/almanac:dev", clock)
    try:

        async def description() -> str | None:
            return (await catalog.get(namespace, "report")).description

        assert await description() == "first"
        k.apply(template("second"))
        assert await description() == "first", "a fresh entry is not read again"
        clock.now += CACHE_SECONDS
        assert await description() == "first", "a stale entry answers at once"

        async def refreshed() -> bool:
            return await description() == "second"

        await eventually(refreshed, timeout=10, what="the refreshed template")

        k.run("delete", "jobtemplate", "report")
        clock.now += CACHE_SECONDS
        await description()  # starts the refresh that finds it gone

        async def gone() -> bool:
            try:
                await description()
            except NotFoundError:
                return True
            return False

        await eventually(gone, timeout=10, what="the deleted template refused")
    finally:
        await catalog.aclose()
