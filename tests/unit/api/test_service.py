"""JobService decisions that need no cluster (the API server is a small fake)."""

from __future__ import annotations

from typing import Any

import pytest

from almanac.api.errors import NotFoundError, UpstreamError
from almanac.api.identity import Identity
from almanac.api.service import JobService
from almanac.api.settings import ApiSettings
from tests.support.runstore import InMemoryRunStore

WHO = Identity(org_id="101", user_id="u1", username="ann")
BODY = {"name": "Nightly", "schedule": "0 3 * * *", "type": "command", "payload": {}}


class NoCrdKube:
    """A namespace exists, but creating a ScheduledJob answers 404 (no CRD installed)."""

    def __init__(self, namespace_exists: bool) -> None:
        self.namespace_exists = namespace_exists
        self.creates = 0

    async def namespace_labels(self, namespace: str) -> dict[str, str] | None:
        return {"almanac.dev/org-id": "101"} if self.namespace_exists else None

    async def create_namespace(self, namespace: str, labels: dict[str, str]) -> None:
        self.namespace_exists = True

    async def list_jobs(self, namespace: str, *, cached: bool = False) -> list[dict[str, Any]]:
        return []

    async def create_job(self, namespace: str, body: dict[str, Any]) -> dict[str, Any]:
        self.creates += 1
        raise NotFoundError("job not found", "id")


class AnyPayload:
    async def check_payload(self, namespace: str, spec: Any) -> None:
        return None


async def test_create_without_the_crd_is_a_503_naming_the_fix_not_a_name_conflict() -> None:
    kube = NoCrdKube(namespace_exists=True)
    service = JobService(ApiSettings(), kube, InMemoryRunStore(), AnyPayload())  # type: ignore[arg-type]
    with pytest.raises(UpstreamError, match="install Almanac's CRDs"):
        await service.create_job(WHO, BODY)
    assert kube.creates == 1  # refused at once, no retries with other names
