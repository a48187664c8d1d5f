"""Runs asked for through REST: run-now, a retry of a finished run and a backfill, each
stored as RunRequests the operator launches (durable, any number side by side, named so
that asking twice asks once), each answered with the runs' ids.
"""

from __future__ import annotations

import copy
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from almanac.api.errors import ConflictError, bad_request_from
from almanac.api.identity import Identity
from almanac.api.namespacechecks import check_against_namespace
from almanac.api.retries import find_retry_target, origin_of
from almanac.core.errors import AlmanacError
from almanac.core.plan import compile_spec, slots_due
from almanac.core.resource import parse_spec
from almanac.core.runrequests import (
    RunRequestSpec,
    backfill_request,
    launch_of,
    manual_request,
    retry_request,
    run_request_body,
)
from almanac.core.runs import job_name_of
from almanac.core.specs import check_spec
from almanac.tracing import link_current_span_to_run

if TYPE_CHECKING:
    from almanac.api.service import JobService

__all__ = ["RunAsks"]


class RunAsks:
    """The facade's run-now, retry and backfill, on the service's clients and policies."""

    def __init__(self, jobs: JobService) -> None:
        self.jobs = jobs

    async def run_now(
        self, who: Identity, job_id: str, key: str, payload: dict[str, Any] | None = None
    ) -> str:
        """Ask for one manual run per ``key``: a RunRequest named from the key, which the
        operator launches (while paused too); any number of keys queue side by side.
        ``payload`` goes over the job's for this run only, checked as a job's payload is
        (the template's schema, the caller's organisation, the namespace's topics).
        Returns the run's id, known now because the run's name follows from the request."""
        namespace = await self.jobs.namespace(who)
        obj = await self.jobs.kube.get_job(namespace, job_id)
        self.jobs.roles.check_change(who, obj, "run")
        if payload:
            await self._check_payload(who, namespace, obj, payload)
        meta = obj["metadata"]
        name, request = manual_request(
            meta["name"], meta["uid"], key, self.jobs.clock(), params=payload
        )
        async with self.jobs.limits.manual_run(who):
            run = await self._ask_run(namespace, meta, name, request)
            await self.jobs.record_action(who, namespace, obj, "run", idempotency_key=key)
        link_current_span_to_run(meta["uid"], run)
        return run

    async def retry_run(self, who: Identity, run_id: str) -> tuple[str, str]:
        """Ask for one more attempt of a finished run (its Job, or its history row once
        the Job was pruned): a RunRequest named from the run, so asking twice asks once.
        Returns the job id and the new attempt's run id."""
        namespace = await self.jobs.namespace(who)
        target = await find_retry_target(self.jobs.kube, self.jobs.store, namespace, run_id)
        obj = await self.jobs.kube.get_job(namespace, target.owner_uid)
        self.jobs.roles.check_change(who, obj, "retry")
        meta = obj["metadata"]
        origin = await origin_of(self.jobs.kube, namespace, target)
        name, request = retry_request(
            meta["name"],
            meta["uid"],
            run_id,
            slot=target.slot,
            attempt=target.attempt + 1,
            origin=origin,
        )
        async with self.jobs.limits.manual_run(who):
            run = await self._ask_run(namespace, meta, name, request)
            await self.jobs.record_action(who, namespace, obj, "retry", run=run_id)
        link_current_span_to_run(meta["uid"], run)
        return str(meta["uid"]), run

    async def _check_payload(
        self, who: Identity, namespace: str, obj: dict[str, Any], payload: dict[str, Any]
    ) -> None:
        """The job's spec with ``payload`` over its params passes what a job's own would:
        the spec check and the namespace's (400 naming ``payload.<field>``)."""
        spec = copy.deepcopy(obj.get("spec") or {})
        spec["params"] = {**(spec.get("params") or {}), **payload}
        try:
            check_spec(spec, kafka_names=self.jobs.settings.kafka_names)
        except AlmanacError as exc:
            raise bad_request_from(exc) from None
        await check_against_namespace(
            self.jobs.kube, self.jobs.catalog, namespace, spec, who.org_id
        )

    async def _ask_run(
        self, namespace: str, meta: dict[str, Any], name: str, request: RunRequestSpec
    ) -> str:
        """Store one RunRequest and return its run's id; a request of that name asked
        before (same key, same retried run) is that run, and nothing new is stored. The
        same key with another payload is a 409: the first one is what runs."""
        body = run_request_body(
            name=name, namespace=namespace, owner=meta["name"], owner_uid=meta["uid"], spec=request
        )
        if not await self.jobs.kube.create_run_request(namespace, body):
            earlier = await self.jobs.kube.get_run_request(namespace, name)
            if earlier is not None:
                stored = RunRequestSpec.model_validate(earlier.get("spec") or {})
                if stored.kind == "manual" and stored.params != request.params:
                    raise ConflictError(
                        "this Idempotency-Key already asked for a run with another payload; "
                        "send a new key for a run with this one",
                        "Idempotency-Key",
                    )
                request = stored
        return job_name_of(meta["name"], meta["uid"], launch_of(name, request))

    async def backfill(
        self, who: Identity, job_id: str, start: datetime, end: datetime
    ) -> tuple[list[str], int]:
        """Ask the operator to run every slot in ``[start, end]`` (one RunRequest each, named
        like its run, so asking twice creates nothing new): it launches them as the job's
        overlap policy allows, with the template's checks. Returns (run names, how many
        were new)."""
        if end < start:
            raise bad_request_from(AlmanacError("end must not be before start", "end"))
        namespace = await self.jobs.namespace(who)
        obj = await self.jobs.kube.get_job(namespace, job_id)
        self.jobs.roles.check_change(who, obj, "backfill")
        try:
            spec = parse_spec(obj.get("spec") or {})
            compiled = compile_spec(spec)
        except AlmanacError as exc:
            raise ConflictError(f"the job's spec is invalid: {exc}", "schedule") from None
        if compiled is None:
            raise ConflictError("the job has no schedule to backfill", "schedule")
        limit = self.jobs.settings.max_backfill
        slots = slots_due(compiled, start - timedelta(microseconds=1), end, limit + 1)
        if len(slots) > limit:
            raise bad_request_from(
                AlmanacError(f"the range holds more than {limit} slots; narrow it", "end")
            )
        await self.jobs.catalog.resolve(namespace, spec.template)  # a missing one: 400 now
        meta = obj["metadata"]
        names, created = [], 0
        for slot in slots:
            name, request = backfill_request(meta["name"], meta["uid"], slot)
            body = run_request_body(
                name=name,
                namespace=namespace,
                owner=meta["name"],
                owner_uid=meta["uid"],
                spec=request,
            )
            names.append(name)
            created += await self.jobs.kube.create_run_request(namespace, body)
        await self.jobs.record_action(
            who, namespace, obj, "backfill", start=str(start), end=str(end)
        )
        return names, created
