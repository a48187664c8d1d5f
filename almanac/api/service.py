"""What the routes do, one method per endpoint: resolve the caller's namespace, call the
API server or the history, map the result, queue the audit row (written after the
response by :class:`~almanac.api.audit.AuditWriter`). Run-now, retry and backfill live on
:attr:`JobService.asks`, history reads on :attr:`JobService.runs`.

Org isolation rests on one rule applied everywhere: every lookup is scoped to the caller's
namespace (:meth:`JobService.namespace`), and a uid or run that is not there is a 404, the
same answer as for one that does not exist at all, so probing leaks nothing.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Final

from prometheus_client import Counter

from almanac.api.audit import AuditWriter
from almanac.api.catalog import Catalog
from almanac.api.deadletters import DeadLetters
from almanac.api.errors import (
    ConflictError,
    ForbiddenError,
    NotFoundError,
    UpstreamError,
)
from almanac.api.idempotency import CreateKey, replayed
from almanac.api.identity import Identity
from almanac.api.jobfilter import JobFilter, select_jobs, select_objects
from almanac.api.kube import KubeFacade
from almanac.api.kubeevents import EVENTS_SHOWN, KubernetesEventList, events_view
from almanac.api.limits import Limits
from almanac.api.mapping import (
    ANNOTATION_SUSPEND_REASON,
    ANNOTATION_UPDATED_BY,
    LABEL_ORG_ID,
    apply_changes,
    job_view,
    new_manifest,
    refuse_if_cancelled,
    refuse_past_instant,
)
from almanac.api.namespacechecks import check_against_namespace, refuse_foreign_org
from almanac.api.roles import RolePolicy
from almanac.api.runasks import RunAsks
from almanac.api.runreads import RunReads
from almanac.api.schemas import Job
from almanac.api.settings import ApiSettings
from almanac.core.errors import AlmanacError
from almanac.core.preview import preview_slots
from almanac.core.resource import parse_spec
from almanac.core.vocabulary import ANNOTATION_CANCELLED
from almanac.history.records import AuditEntry
from almanac.history.store import RunStore

__all__ = ["JobService"]

_NAME_ATTEMPTS: Final = 3


def _now() -> datetime:
    return datetime.now(UTC)


@dataclass
class JobService:
    """The facade's operations; one instance per process (see :mod:`almanac.api.context`)."""

    settings: ApiSettings
    kube: KubeFacade
    store: RunStore
    catalog: Catalog
    audit_failures: Counter | None = None
    roles: RolePolicy = field(default_factory=RolePolicy)
    limit_failures: Counter | None = None
    clock: Callable[[], datetime] = _now
    _known: set[str] = field(default_factory=set)
    audit: AuditWriter = field(init=False)
    limits: Limits = field(init=False)
    #: Runs asked for through REST: run-now, retry and backfill.
    asks: RunAsks = field(init=False)
    #: Reads of the run history: runs, one run, stats, the organisation's summary.
    runs: RunReads = field(init=False)
    #: Dead letters: the organisation's list, one letter, a requeue.
    letters: DeadLetters = field(init=False)

    def __post_init__(self) -> None:
        self.audit = AuditWriter(self.store, self.audit_failures)
        self.limits = Limits(
            self.store,
            self.audit,
            self.clock,
            max_jobs_per_org=self.settings.max_jobs_per_org,
            manual_runs_per_hour=self.settings.manual_runs_per_hour,
            failures=self.limit_failures,
        )
        self.asks = RunAsks(self)
        self.runs = RunReads(self)
        self.letters = DeadLetters(self)

    async def aclose(self) -> None:
        """Write the queued audit rows (call before the history closes); stop template
        refreshes."""
        await self.catalog.aclose()
        await self.audit.aclose()

    # --- tenancy -------------------------------------------------------------------------

    async def namespace(self, who: Identity, *, create: bool = False) -> str:
        """The caller's namespace: created on first write (or refused, per settings)."""
        namespace = self.settings.namespace(who.org_id)
        if namespace in self._known:
            return namespace
        labels = await self.kube.namespace_labels(namespace)
        if labels is None:
            if not self.settings.create_namespaces:
                raise ForbiddenError(
                    f"organisation {who.org_id!r} has no namespace {namespace!r}; ask an "
                    "administrator to create it",
                    "x-rh-identity.identity.org_id",
                )
            if not create:
                return namespace  # reads of an organisation with nothing yet: empty
            await self.kube.create_namespace(
                namespace,
                {
                    LABEL_ORG_ID: who.org_id,
                    "pod-security.kubernetes.io/enforce": "restricted",
                },
            )
        elif labels.get(LABEL_ORG_ID, who.org_id) != who.org_id:
            raise ForbiddenError(
                f"namespace {namespace!r} belongs to another organisation",
                "x-rh-identity.identity.org_id",
            )
        if self.settings.namespace_defaults:
            await self.kube.create_namespace_objects(namespace, self.settings.namespace_defaults)
        self._known.add(namespace)
        return namespace

    async def record_action(
        self, who: Identity, namespace: str, obj: dict[str, Any], action: str, **details: Any
    ) -> None:
        """One audit row: who did ``action`` to ``obj``, with the details."""
        entry = AuditEntry(
            namespace=namespace,
            scheduledjob=str(obj["metadata"]["name"]),
            actor=who.actor,
            action=action,
            at=self.clock(),
            org_id=who.org_id,
            details={"uid": obj["metadata"].get("uid"), **details},
        )
        await self.audit.submit(entry)

    # --- jobs ----------------------------------------------------------------------------

    async def list_jobs(self, who: Identity, query: JobFilter) -> list[Job]:
        """Jobs of the caller's organisation that ``query`` keeps, in its order."""
        namespace = await self.namespace(who)
        return select_jobs(await self.kube.list_jobs(namespace, cached=True), query)

    async def list_job_objects(self, who: Identity, query: JobFilter) -> list[Mapping[str, Any]]:
        """The ScheduledJobs :meth:`list_jobs` shows, as objects, for a caller that maps
        only the page it shows (the console's list at a thousand jobs)."""
        namespace = await self.namespace(who)
        return select_objects(await self.kube.list_jobs(namespace, cached=True), query)

    async def get_job(self, who: Identity, job_id: str) -> dict[str, Any]:
        return await self.kube.get_job(await self.namespace(who), job_id)

    async def job_events(
        self, who: Identity, job_id: str, limit: int = EVENTS_SHOWN
    ) -> KubernetesEventList:
        """The job's Kubernetes Events, newest first: found through the job, so another
        organisation's job id is the same 404 as reading it, and no Event is listed."""
        namespace = await self.namespace(who)
        obj = await self.kube.get_job(namespace, job_id)
        events = await self.kube.list_job_events(namespace, str(obj["metadata"]["uid"]))
        return events_view(events, limit)

    def _with_defaults(self, changes: dict[str, Any], who: Identity) -> dict[str, Any]:
        """The seed's export payload has no service URL (the seed configured it server-side
        as EXPORT_SERVICE_URL): fill ``baseUrl`` from ``ALMANAC_EXPORT_SERVICE_URL``, and the
        export's identity (``orgId``, ``username``, ``accountNumber``) from the caller."""
        payload = changes.get("payload")
        if changes.get("type") != "export" or not isinstance(payload, dict):
            return changes
        url = self.settings.export_service_url
        caller = {
            "orgId": who.org_id,
            "username": who.username,
            "accountNumber": who.account_number,
        }
        defaults = {k: v for k, v in caller.items() if v} | ({"baseUrl": url} if url else {})
        return changes | {"payload": defaults | payload}

    async def create_job(
        self, who: Identity, changes: dict[str, Any], key: str | None = None
    ) -> Job:
        """Create a job; with an ``Idempotency-Key``, a create sent again answers the job
        the first one made (:mod:`almanac.api.idempotency`)."""
        self.roles.check_create(who)
        namespace = await self.namespace(who, create=True)
        create_key = CreateKey(who.org_id, key, changes) if key is not None else None
        jobs = await self.kube.list_jobs(namespace, cached=True)
        if create_key is not None and (earlier := replayed(create_key, jobs)) is not None:
            return job_view(earlier)
        self.limits.check_job_count(who, len(jobs))
        changes = self._with_defaults(changes, who)
        for _ in range(_NAME_ATTEMPTS):
            body = new_manifest(
                changes,
                namespace=namespace,
                org_id=who.org_id,
                actor=who.actor,
                suffix=create_key.suffix if create_key else uuid.uuid4().hex[:5],
                kafka_names=self.settings.kafka_names,
                default_topic=self.settings.default_message_topic,
            )
            if create_key is not None:
                body["metadata"]["annotations"] |= create_key.annotations
            refuse_past_instant(changes, body["spec"], self.clock())
            await check_against_namespace(
                self.kube, self.catalog, namespace, body["spec"], who.org_id
            )
            try:
                obj = await self.kube.create_job(namespace, body)
            except ConflictError:
                if create_key is None:
                    continue  # the random suffix collided: draw another
                # Made by the first create, not in the cached list yet.
                earlier = replayed(create_key, await self.kube.list_jobs(namespace))
                if earlier is None:
                    raise ConflictError(
                        f"a job named {body['metadata']['name']} exists and was not made "
                        f"with Idempotency-Key {key!r}; send this job with a new key",
                        "Idempotency-Key",
                    ) from None
                return job_view(earlier)
            except NotFoundError:
                if await self.kube.namespace_labels(namespace) is not None:
                    # The namespace is there, so the resource type is not: no CRDs.
                    raise UpstreamError(
                        "the API server has no ScheduledJob resource; an administrator "
                        "must install Almanac's CRDs (the Helm chart or crds/)",
                        "",
                    ) from None
                self._known.discard(namespace)  # it went away since we cached it
                namespace = await self.namespace(who, create=True)
                continue
            await self.record_action(who, namespace, obj, "create", name=changes.get("name"))
            return job_view(obj)
        raise ConflictError("could not find a free object name; retry", "name")

    async def update_job(self, who: Identity, job_id: str, changes: dict[str, Any]) -> Job:
        namespace = await self.namespace(who)
        changes = self._with_defaults(changes, who)

        def mutate(obj: dict[str, Any]) -> dict[str, Any]:
            self.roles.check_change(who, obj, "change")
            changed = apply_changes(
                obj,
                changes,
                who.actor,
                self.settings.kafka_names,
                self.settings.default_message_topic,
            )
            refuse_foreign_org(changed["spec"], who.org_id)
            refuse_past_instant(changes, changed["spec"], self.clock())
            return changed

        # The template check needs I/O, so it runs on the current object before the
        # guarded write; a conflicting writer in between only changes what it checked.
        current = await self.kube.get_job(namespace, job_id)
        spec = mutate(current)["spec"]
        await check_against_namespace(self.kube, self.catalog, namespace, spec, who.org_id)
        obj = await self.kube.update_job(namespace, job_id, mutate)
        await self.record_action(who, namespace, obj, "update", fields=sorted(changes))
        return job_view(obj)

    async def delete_job(self, who: Identity, job_id: str) -> None:
        namespace = await self.namespace(who)
        obj = await self.kube.delete_job(
            namespace, job_id, check=lambda job: self.roles.check_change(who, job, "delete")
        )
        await self.record_action(who, namespace, obj, "delete")

    async def _annotate(
        self,
        who: Identity,
        job_id: str,
        action: str,
        change: Callable[[dict[str, Any]], None],
        **details: Any,
    ) -> dict[str, Any]:
        namespace = await self.namespace(who)

        def mutate(obj: dict[str, Any]) -> dict[str, Any]:
            self.roles.check_change(who, obj, action)
            change(obj)
            annotations = obj["metadata"].setdefault("annotations", {})
            annotations[ANNOTATION_UPDATED_BY] = who.actor
            return obj

        obj = await self.kube.update_job(namespace, job_id, mutate)
        await self.record_action(who, namespace, obj, action, **details)
        return obj

    async def set_paused(self, who: Identity, job_id: str, paused: bool, reason: str | None) -> Job:
        """Pause (``spec.suspend: true``) or resume; 409 when already so (the seed's rule)."""

        def change(obj: dict[str, Any]) -> None:
            spec = obj.setdefault("spec", {})
            refuse_if_cancelled(obj, "status")
            if bool(spec.get("suspend")) == paused:
                state = "paused" if paused else "not paused"
                raise ConflictError(f"the job is already {state}", "status")
            spec["suspend"] = paused
            annotations = obj["metadata"].setdefault("annotations", {})
            if paused and reason:
                annotations[ANNOTATION_SUSPEND_REASON] = reason
            else:
                annotations.pop(ANNOTATION_SUSPEND_REASON, None)

        action = "pause" if paused else "resume"
        return job_view(await self._annotate(who, job_id, action, change, reason=reason))

    async def cancel_job(self, who: Identity, job_id: str) -> Job:
        """End the job's future runs for good and keep it, with its history (seed 004's
        cancel; ``DELETE`` removes it). Runs already going finish; 409 when cancelled."""
        at = self.clock()

        def change(obj: dict[str, Any]) -> None:
            refuse_if_cancelled(obj, "job_id")
            obj.setdefault("spec", {})["suspend"] = True
            annotations = obj["metadata"].setdefault("annotations", {})
            annotations[ANNOTATION_CANCELLED] = at.isoformat(timespec="seconds")
            annotations.pop(ANNOTATION_SUSPEND_REASON, None)

        return job_view(await self._annotate(who, job_id, "cancel", change))

    # --- schedule ------------------------------------------------------------------------

    async def next_runs(self, who: Identity, job_id: str, count: int) -> list[datetime]:
        """The engine's preview of the next ``count`` slots (none for event-only jobs)."""
        obj = await self.get_job(who, job_id)
        try:
            spec = parse_spec(obj.get("spec") or {})
            if spec.schedule is None:
                return []
            return preview_slots(spec, self.clock(), count)
        except AlmanacError as exc:
            raise ConflictError(f"the job's spec is invalid: {exc}", "schedule") from None
