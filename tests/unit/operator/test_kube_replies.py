"""Unread API replies: created, already there, or refused (never silently 'launched')."""

from __future__ import annotations

from dataclasses import dataclass

import pytest
from kubernetes_asyncio.client.exceptions import ApiException

from almanac.operator.kube import _created


@dataclass
class Reply:
    status: int
    body: str = ""
    released: bool = False

    async def text(self) -> str:
        return self.body

    def release(self) -> None:
        self.released = True


@pytest.mark.parametrize(("status", "created"), [(201, True), (200, True), (409, False)])
async def test_created_or_already_there(status: int, created: bool) -> None:
    reply = Reply(status)
    assert await _created(reply) is created
    assert reply.released


async def test_a_refusal_raises_with_the_servers_reason() -> None:
    reply = Reply(403, 'jobs.batch is forbidden: User "x" cannot create')
    with pytest.raises(ApiException) as refused:
        await _created(reply)
    assert refused.value.status == 403
    assert "forbidden" in str(refused.value)
    assert reply.released
