"""JobService decisions that need no cluster (the API server is a small fake)."""

from __future__ import annotations

from typing import Any

import pytest

from almanac.api.errors import ConflictError, NotFoundError, UpstreamError
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


class JobsKube:
    """Keeps created ScheduledJobs by name (a second create of a name is a conflict); the
    cached list may lag behind, as the facade's cache does right after a create."""

    def __init__(self) -> None:
        self.jobs: dict[str, dict[str, Any]] = {}
        self.creates = 0
        self.stale_cache = False

    async def namespace_labels(self, namespace: str) -> dict[str, str] | None:
        return {"almanac.dev/org-id": namespace.removeprefix("org-")}

    async def list_jobs(self, namespace: str, *, cached: bool = False) -> list[dict[str, Any]]:
        mine = [j for j in self.jobs.values() if j["metadata"]["namespace"] == namespace]
        return [] if cached and self.stale_cache else mine

    async def create_job(self, namespace: str, body: dict[str, Any]) -> dict[str, Any]:
        self.creates += 1
        name = body["metadata"]["name"]
        if name in self.jobs:
            raise ConflictError(f"{name} exists", "name")
        made = body | {"metadata": body["metadata"] | {"uid": f"uid-{len(self.jobs)}"}}
        self.jobs[name] = made
        return made


def idempotent_service() -> tuple[JobService, JobsKube]:
    kube = JobsKube()
    service = JobService(ApiSettings(), kube, InMemoryRunStore(), AnyPayload())  # type: ignore[arg-type]
    service.record_action = _no_audit  # type: ignore[method-assign]
    return service, kube


async def _no_audit(*_: Any, **__: Any) -> None:
    return None


async def test_a_create_sent_again_with_its_key_answers_the_first_job() -> None:
    service, kube = idempotent_service()
    first = await service.create_job(WHO, dict(BODY), "key-1")
    again = await service.create_job(WHO, dict(BODY), "key-1")
    assert again.id == first.id
    assert len(kube.jobs) == 1


async def test_a_create_whose_answer_was_lost_is_recognised_past_a_stale_cache() -> None:
    service, kube = idempotent_service()
    first = await service.create_job(WHO, dict(BODY), "key-1")
    kube.stale_cache = True  # the facade restarted: its list does not show the job yet
    again = await service.create_job(WHO, dict(BODY), "key-1")
    assert again.id == first.id
    assert len(kube.jobs) == 1


async def test_one_key_with_another_body_is_a_409_naming_the_key() -> None:
    service, kube = idempotent_service()
    await service.create_job(WHO, dict(BODY), "key-1")
    with pytest.raises(ConflictError, match="Idempotency-Key 'key-1' was used") as refused:
        await service.create_job(WHO, BODY | {"schedule": "0 4 * * *"}, "key-1")
    assert refused.value.field == "Idempotency-Key"
    assert len(kube.jobs) == 1


async def test_without_a_key_each_create_makes_a_job_and_keys_are_per_organisation() -> None:
    service, kube = idempotent_service()
    await service.create_job(WHO, dict(BODY))
    await service.create_job(WHO, dict(BODY))
    other = Identity(org_id="202", user_id="u2", username="bob")
    mine = await service.create_job(WHO, dict(BODY), "shared")
    theirs = await service.create_job(other, dict(BODY), "shared")
    assert mine.id != theirs.id
    assert len(kube.jobs) == 4
