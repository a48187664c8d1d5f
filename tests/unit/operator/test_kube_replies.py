"""Unread API replies: created, already there, or refused (never silently 'launched')."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pytest
from kubernetes_asyncio.client.exceptions import ApiException

from almanac.operator.kube import Kube, read_reply


@dataclass
class Reply:
    status: int
    body: bytes = b""
    reason: str = ""

    async def read(self) -> bytes:
        return self.body


async def answer(reply: Reply) -> Reply:
    return reply


async def test_a_created_reply_gives_its_body() -> None:
    assert await read_reply(answer(Reply(201, b'{"kind": "Job"}'))) == b'{"kind": "Job"}'


async def test_a_refusal_raises_with_the_servers_reason() -> None:
    reply = Reply(403, b'jobs.batch is forbidden: User "x" cannot create', "Forbidden")
    with pytest.raises(ApiException) as refused:
        await read_reply(answer(reply))
    assert refused.value.status == 403
    assert "forbidden" in str(refused.value)


class Batch:
    def __init__(self, status: int) -> None:
        self.status = status

    async def create_namespaced_job(self, namespace: str, body: Any, **_: Any) -> Reply:
        return Reply(self.status, b"{}", "x")


@pytest.mark.parametrize(("status", "launched"), [(201, True), (409, False)])
async def test_create_job_tells_a_launch_from_an_existing_job(status: int, launched: bool) -> None:
    kube = Kube.__new__(Kube)
    kube._batch = Batch(status)
    assert await kube.create_job("ns", {}) is launched


async def test_create_job_raises_on_a_refusal() -> None:
    kube = Kube.__new__(Kube)
    kube._batch = Batch(422)
    with pytest.raises(ApiException):
        await kube.create_job("ns", {})
