"""The executor's composition root: everything a payload may use, built once in ``main``.

Payloads receive a :class:`PayloadContext` instead of reading the environment or creating
module-level clients, so tests can hand them a fake resolver or a temporary secrets
directory without patching anything.
"""

from __future__ import annotations

from collections.abc import Awaitable, Mapping
from dataclasses import dataclass
from typing import Any, Protocol

from almanac.executor.environment import RunInfo, Settings
from almanac.executor.netguard import Resolver, SystemResolver
from almanac.executor.result import Result
from almanac.executor.secrets import SecretStore

__all__ = ["Payload", "PayloadContext"]


@dataclass(frozen=True)
class PayloadContext:
    """The run, the process settings, and the I/O seams a payload may use."""

    run: RunInfo
    settings: Settings
    secrets: SecretStore
    resolver: Resolver

    @classmethod
    def create(
        cls, run: RunInfo, settings: Settings, resolver: Resolver | None = None
    ) -> PayloadContext:
        return cls(run, settings, SecretStore(settings.secrets_dir), resolver or SystemResolver())


class Payload(Protocol):
    """One payload type: validate its params, do the work, return the result.

    Expected failures raise :class:`~almanac.executor.errors.ExecutorError` (or return a
    failed :class:`Result`); anything else is a bug reported as an internal error.
    """

    def __call__(self, params: Mapping[str, Any], ctx: PayloadContext) -> Awaitable[Result]: ...
