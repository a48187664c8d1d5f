"""Leader election on a ``coordination.k8s.io/v1`` Lease (invariant one-scheduler: one scheduler).

kubernetes_asyncio's LeaseLock never releases on shutdown and is one-shot after a loss,
so this is a small elector of our own: acquire or take over an expired Lease with an
optimistic-concurrency replace, renew every ``retry`` seconds, declare the Lease lost when
no renewal succeeded within ``renew_deadline``, and hand it back on a clean exit so the
standby replica takes over at once.

Two rules keep a deposed leader from writing beside its successor. A Lease counts as
expired when its record has not changed for ``duration`` seconds *of this process's own
clock* (the holder's ``renewTime`` is stamped by its clock, which may run ahead). And the
holder fences its own writes (:meth:`LeaseElector.holds`): launches and status writes are
refused once ``renew_deadline`` has passed since the start of its last successful renewal,
which is before any other replica can see the Lease expire (a process frozen by SIGSTOP
past its Lease resumes with its writes refused, then exits).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from kubernetes_asyncio import client
from kubernetes_asyncio.client.exceptions import ApiException

from almanac.operator.logs import log

__all__ = ["Fence", "LeaseElector", "LeaseTiming", "NotLeaderError", "always"]


#: Asked before every launch and status write: may this process still write as leader?
Fence = Callable[[], bool]


def always() -> bool:
    """The fence of a process that is not elected (tests, tools)."""
    return True


class NotLeaderError(Exception):
    """A write was refused: this process no longer surely holds the Lease."""


@dataclass(frozen=True)
class LeaseTiming:
    """contracts.md: duration 10 s, renew deadline 7 s, retry 1 s."""

    duration: float = 10.0
    renew_deadline: float = 7.0
    retry: float = 1.0


def _micro(instant: datetime) -> str:
    return instant.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


class LeaseElector:
    def __init__(
        self,
        api: client.CoordinationV1Api,
        *,
        namespace: str,
        name: str,
        identity: str,
        timing: LeaseTiming = LeaseTiming(),
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._api = api
        self._namespace = namespace
        self._name = name
        self.identity = identity
        self._timing = timing
        self.is_leader = False
        self.transitions = 0
        self._clock = clock
        #: The Lease record as last read (resourceVersion) and when this process saw it change.
        self._seen: tuple[str, float] | None = None
        #: When the last successful acquire or renewal began (this process's clock).
        self._renewed_at: float | None = None

    def _body(
        self, resource_version: str | None, acquire: datetime, transitions: int
    ) -> dict[str, Any]:
        now = datetime.now(UTC)
        metadata: dict[str, Any] = {"name": self._name, "namespace": self._namespace}
        if resource_version:
            metadata["resourceVersion"] = resource_version
        return {
            "apiVersion": "coordination.k8s.io/v1",
            "kind": "Lease",
            "metadata": metadata,
            "spec": {
                "holderIdentity": self.identity,
                "leaseDurationSeconds": int(self._timing.duration),
                "acquireTime": _micro(acquire),
                "renewTime": _micro(now),
                "leaseTransitions": transitions,
            },
        }

    async def try_acquire_or_renew(self) -> bool:
        """One attempt: create, renew our own, or take over an expired Lease."""
        try:
            lease = await self._api.read_namespaced_lease(self._name, self._namespace)
        except ApiException as exc:
            if exc.status != 404:
                raise
            try:
                await self._api.create_namespaced_lease(
                    self._namespace, self._body(None, datetime.now(UTC), 0)
                )
            except ApiException as create_exc:
                if create_exc.status == 409:
                    return False
                raise
            return True
        spec = lease.spec
        holder = spec.holder_identity
        duration = spec.lease_duration_seconds or int(self._timing.duration)
        version = str(lease.metadata.resource_version or "")
        if self._seen is None or self._seen[0] != version:
            self._seen = (version, self._clock())
        expired = self._clock() - self._seen[1] > duration
        if holder not in (None, "", self.identity) and not expired:
            return False
        ours = holder == self.identity
        transitions = (spec.lease_transitions or 0) + (0 if ours else 1)
        acquire = spec.acquire_time if ours and spec.acquire_time else datetime.now(UTC)
        try:
            await self._api.replace_namespaced_lease(
                self._name,
                self._namespace,
                self._body(lease.metadata.resource_version, acquire, transitions),
            )
        except ApiException as exc:
            if exc.status == 409:
                return False
            raise
        return True

    def holds(self) -> bool:
        """Whether this process may still write as the leader (the fence)."""
        return (
            self.is_leader
            and self._renewed_at is not None
            and self._clock() - self._renewed_at < self._timing.renew_deadline
        )

    async def acquire(self) -> None:
        """Block until this process holds the Lease."""
        while True:
            try:
                began = self._clock()
                if await self.try_acquire_or_renew():
                    self._renewed_at = began
                    self.is_leader = True
                    self.transitions += 1
                    log.info("lease acquired", extra={"leader": self.identity})
                    return
            except (TimeoutError, ApiException, OSError) as exc:
                log.warning("lease attempt failed", extra={"error": str(exc)})
            await asyncio.sleep(self._timing.retry)

    async def keep(self, on_lost: Callable[[], None]) -> None:
        """Renew until a renewal deadline passes without success, then call ``on_lost``."""
        last_success = time.monotonic()
        while True:
            await asyncio.sleep(self._timing.retry)
            began = self._clock()
            try:
                renewed = await asyncio.wait_for(
                    self.try_acquire_or_renew(), timeout=self._timing.renew_deadline
                )
            except (TimeoutError, ApiException, OSError) as exc:
                log.warning("lease renewal failed", extra={"error": str(exc)})
                renewed = False
            if renewed:
                last_success = time.monotonic()
                self._renewed_at = began
            elif time.monotonic() - last_success > self._timing.renew_deadline:
                self.is_leader = False
                log.error("lease lost", extra={"leader": self.identity})
                on_lost()
                return

    async def release(self) -> None:
        """Give the Lease back (expired, no holder) so a standby takes over at once."""
        if not self.is_leader:
            return
        self.is_leader = False
        try:
            lease = await self._api.read_namespaced_lease(self._name, self._namespace)
            if lease.spec.holder_identity != self.identity:
                return
            body = self._body(lease.metadata.resource_version, datetime.now(UTC), 0)
            body["spec"].update(
                holderIdentity=None,
                leaseDurationSeconds=1,
                leaseTransitions=lease.spec.lease_transitions or 0,
                renewTime=_micro(datetime(1970, 1, 1, tzinfo=UTC)),
            )
            await self._api.replace_namespaced_lease(self._name, self._namespace, body)
            log.info("lease released", extra={"leader": self.identity})
        except (ApiException, OSError) as exc:
            log.warning("lease release failed", extra={"error": str(exc)})
