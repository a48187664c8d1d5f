"""The facade refuses a job whose ``priority`` names no PriorityClass, as the webhook does
(the facade's writes skip the webhook), naming the field."""

from __future__ import annotations

from typing import Any

import pytest

from almanac.api.errors import BadRequestError
from almanac.api.namespacechecks import check_against_namespace


class Cluster:
    async def priority_class_exists(self, name: str) -> bool:
        return name == "high"


class Catalog:
    async def check_payload(self, namespace: str, spec: Any) -> None:
        return None


async def check(spec: dict[str, Any]) -> None:
    await check_against_namespace(Cluster(), Catalog(), "org-1", spec, "1")  # type: ignore[arg-type]


async def test_an_existing_class_and_none_at_all_pass() -> None:
    await check({"template": "command", "priority": "high"})
    await check({"template": "command"})


async def test_a_class_that_does_not_exist_is_a_400_naming_priority() -> None:
    with pytest.raises(BadRequestError) as refused:
        await check({"template": "command", "priority": "urgent"})
    assert refused.value.field == "priority"
    assert "no PriorityClass named 'urgent'" in refused.value.message
