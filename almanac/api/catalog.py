"""Payload types as the facade shows them: JobTemplates, ClusterJobTemplates, built-ins.

The lookup order is the operator's (a namespaced JobTemplate first, then a
ClusterJobTemplate, then the built-in executor types), so a payload accepted here is one
the operator will run. Templates change rarely and every POST checks one, so lookups are
cached: after ``CACHE_SECONDS`` a lookup still answers from the cache and refreshes it in
the background (no request waits for the API server's two reads), and only an entry older
than ``MAX_STALE_SECONDS`` (no traffic, or refreshes failing) is read again in line. The
operator checks the template again before each launch anyway.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Mapping
from typing import Any, Final

from almanac.api.errors import BadRequestError, NotFoundError, bad_request_from
from almanac.api.kube import KubeFacade
from almanac.api.mapping import template_for, type_for
from almanac.api.schemas import Template
from almanac.core.errors import AlmanacError
from almanac.core.resource import validate_model
from almanac.core.runs import BUILTIN_TEMPLATES, builtin_template
from almanac.core.templates import JobTemplateSpec
from almanac.core.templateuse import namespace_refusal, use_refusal
from almanac.templates import builtin_params_schema

__all__ = ["Catalog"]

CACHE_SECONDS: Final = 5.0
MAX_STALE_SECONDS: Final = 60.0
log = logging.getLogger("almanac.api")

Key = tuple[str, str]


def _allowed(obj: Mapping[str, Any]) -> list[str] | None:
    """A ClusterJobTemplate's ``allowedNamespaces`` (a namespaced one serves its own)."""
    if obj.get("kind") != "ClusterJobTemplate":
        return None
    allowed = (obj.get("spec") or {}).get("allowedNamespaces")
    return list(allowed) if isinstance(allowed, list) else None


def _allows(obj: Mapping[str, Any], namespace: str) -> bool:
    name = str((obj.get("metadata") or {}).get("name", ""))
    return namespace_refusal(name, _allowed(obj), namespace) is None


def _view(obj: Mapping[str, Any]) -> Template:
    spec = obj.get("spec") or {}
    name = str(obj["metadata"]["name"])
    return Template(
        name=name,
        type=type_for(name),
        scope="namespace" if obj.get("kind") == "JobTemplate" else "cluster",
        description=spec.get("description"),
        params_schema=spec.get("paramsSchema"),
    )


def _builtin(name: str) -> Template:
    return Template(
        name=name,
        type=type_for(name),
        scope="builtin",
        description="Built-in payload type run by Almanac's executor (no template installed).",
        params_schema=builtin_params_schema(name),
    )


class Catalog:
    """Template lookups for one facade process (a short-lived cache in front of the API)."""

    def __init__(
        self, kube: KubeFacade, image: str, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self._kube = kube
        self._image = image
        self._clock = clock
        self._cache: dict[Key, tuple[float, dict[str, Any] | None]] = {}
        self._refreshing: dict[Key, asyncio.Task[None]] = {}

    async def aclose(self) -> None:
        """Cancel the refreshes in flight (shutdown)."""
        tasks = list(self._refreshing.values())
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

    async def list(self, namespace: str) -> list[Template]:
        """Every type usable in ``namespace``; a namespaced template hides a cluster one."""
        found: dict[str, Template] = {}
        for obj in await self._kube.list_templates(namespace):
            name = obj["metadata"]["name"]
            if name not in found and _allows(obj, namespace):
                found[name] = _view(obj)
        for name in sorted(BUILTIN_TEMPLATES - set(found)):
            found[name] = _builtin(name)
        return sorted(found.values(), key=lambda t: t.name)

    async def _lookup(self, namespace: str, name: str) -> dict[str, Any] | None:
        key = (namespace, name)
        cached = self._cache.get(key)
        if cached is None:
            return await self._fetch(key)
        fetched, obj = cached
        age = self._clock() - fetched
        if age >= MAX_STALE_SECONDS:
            return await self._fetch(key)
        if age >= CACHE_SECONDS and key not in self._refreshing:
            self._refreshing[key] = asyncio.create_task(self._refresh(key))
        return obj

    async def _fetch(self, key: Key) -> dict[str, Any] | None:
        obj = await self._kube.get_template(*key)
        self._cache[key] = (self._clock(), obj)
        return obj

    async def _refresh(self, key: Key) -> None:
        """One background read; on any failure (a refusal, the API server unreachable) the
        entry stays as it was and ages towards an in-line read."""
        try:
            await self._fetch(key)
        except Exception as exc:  # a background task: log, never raise
            log.warning(
                "template refresh failed; the cached answer stays in use",
                extra={"namespace": key[0], "template": key[1], "error": str(exc)},
            )
        finally:
            self._refreshing.pop(key, None)

    async def get(self, namespace: str, kind: str) -> Template:
        """One type by its name (or ``type`` alias), 404 when the namespace cannot use it."""
        name = template_for(kind)
        obj = await self._lookup(namespace, name)
        if obj is not None and _allows(obj, namespace):
            return _view(obj)
        if obj is None and name in BUILTIN_TEMPLATES:
            return _builtin(name)
        raise NotFoundError(f"no payload type {kind!r}; GET /templates lists them", "name")

    async def resolve(self, namespace: str, name: str) -> JobTemplateSpec:
        """The template spec a run of ``name`` would use (for backfill Jobs)."""
        obj = await self._lookup(namespace, name)
        if obj is None:
            if name in BUILTIN_TEMPLATES:
                return builtin_template(name, self._image, builtin_params_schema(name))
            raise BadRequestError(f"no payload type {type_for(name)!r}; GET /templates", "type")
        try:
            return validate_model(JobTemplateSpec, obj.get("spec") or {}, "spec")
        except AlmanacError as exc:
            raise BadRequestError(f"template {name!r} is invalid: {exc}", "type") from None

    async def check_payload(self, namespace: str, spec: Mapping[str, Any]) -> None:
        """Refuse (400) a type the namespace cannot use or a payload its schema refuses."""
        name = str(spec.get("template", ""))
        obj = await self._lookup(namespace, name)
        if obj is None and name not in BUILTIN_TEMPLATES:
            raise BadRequestError(
                f"unknown type {type_for(name)!r}; GET /templates lists the types", "type"
            )
        if obj is None:  # the built-in type, with the schema Almanac ships for it
            allowed, schema = None, builtin_params_schema(name)
        else:
            allowed, schema = _allowed(obj), (obj.get("spec") or {}).get("paramsSchema")
        refused = use_refusal(name, allowed, namespace, spec.get("params") or {}, schema)
        if refused is not None:
            raise bad_request_from(refused)
