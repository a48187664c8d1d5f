"""What the operator knows of the cluster: each ScheduledJob with its Jobs, RunRequests
and templates, as the watches delivered them.

Only the watch feeds write here, and they never block: they update the cached objects
and queue a wake-up; the reconcile loop reads. Jobs and RunRequests name their owner by
uid (label and controller reference together); those seen before their owner wait as
orphans until it arrives.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any

from almanac.core.errors import AlmanacError
from almanac.core.naming import claimed_owner
from almanac.core.runrequests import RequestPhase
from almanac.core.runs import BUILTIN_TEMPLATES, JobObservation, builtin_template, observe_job
from almanac.core.snapshot import StoredRequest
from almanac.core.status import RunPhase
from almanac.core.templates import JobTemplateSpec
from almanac.core.templateuse import choose_template
from almanac.templates import builtin_params_schema

from .logs import log
from .observability import Metrics
from .recording import RunRecorder, run_record
from .tracked import Tracked
from .wakeups import Key, WakeQueue

__all__ = ["WATCHED", "Registry"]

Owner = tuple[str, str]  # (namespace, uid)
#: The watches whose first complete list the scheduler waits for: a new leader decides
#: nothing from a cache that lacks a ScheduledJob, a template, a Job or a RunRequest
#: (it would drop an event, call a template missing, or launch beside a running run).
WATCHED = frozenset({"scheduledjob", "jobtemplate", "clusterjobtemplate", "job", "runrequest"})


class Registry:
    def __init__(
        self,
        metrics: Metrics,
        wakeups: WakeQueue,
        *,
        image: str,
        pull_secrets: Sequence[str] = (),
        clock: Callable[[], datetime],
        recorder: RunRecorder | None = None,
    ) -> None:
        self._metrics = metrics
        self._wakeups = wakeups
        self._image = image
        #: Pull Secrets of Almanac's image, given to runs of built-in templates.
        self._pull_secrets = tuple(pull_secrets)
        self._clock = clock
        self._recorder = recorder
        self.objects: dict[Key, Tracked] = {}
        self._by_uid: dict[str, Tracked] = {}
        self._orphans: dict[Owner, dict[str, JobObservation]] = {}
        self._orphan_requests: dict[Owner, dict[str, StoredRequest]] = {}
        self._templates: dict[tuple[str, str], JobTemplateSpec] = {}
        self._builtins: dict[str, JobTemplateSpec] = {}
        #: (ScheduledJob uid, request name) of every Job a RunRequest or an event asked
        #: for, and of those being created: an event id met again is a duplicate even
        #: when its copy was produced later (a later instant gives a new Job name).
        self.requested_jobs: dict[tuple[str, str], str] = {}
        self.creating: set[tuple[str, str]] = set()
        #: Bumped whenever the set of ScheduledJobs or their triggers may have changed.
        self.generation = 0
        #: Set once the Job and RunRequest watches have listed everything: only then are
        #: the Jobs known complete (no pass runs before: a Forbid job would see no active
        #: run) and "this event was accepted before" answered from memory.
        self.synced = asyncio.Event()
        self._listed: set[str] = set()
        #: Told of every Job of a known owner uid, deleted or not (the launch limits'
        #: counts, :class:`~.runledger.RunLedger`), owner tracked or not yet.
        self.on_job: Callable[[str, str, JobObservation, bool], None] | None = None

    # -- ScheduledJobs -------------------------------------------------------------------

    def upsert(self, body: dict[str, Any]) -> None:
        key = (body["metadata"]["namespace"], body["metadata"]["name"])
        tracked = self.objects.get(key)
        if tracked is None or tracked.ref.uid != body["metadata"]["uid"]:
            if tracked is not None:  # deleted and made again under the same name
                self._by_uid.pop(tracked.ref.uid, None)
            tracked = Tracked.from_body(body)
            owner = (tracked.ref.namespace, tracked.ref.uid)
            tracked.jobs = self._orphans.pop(owner, {})
            tracked.requests = self._orphan_requests.pop(owner, {})
            self.objects[key] = tracked
            self._by_uid[tracked.ref.uid] = tracked
        elif tracked.only_status_changed(body):
            # Our own status write coming back: nothing to plan (and no spec to re-parse).
            tracked.resource_version = str(body["metadata"].get("resourceVersion", ""))
            return
        else:
            tracked.refresh(body)
        self.generation += 1
        self._metrics.scheduled_jobs.set(len(self.objects))
        self._wakeups.poke(key)

    def forget(self, namespace: str, name: str) -> None:
        gone = self.objects.pop((namespace, name), None)
        if gone is not None:
            self._by_uid.pop(gone.ref.uid, None)
        self.generation += 1
        self._metrics.scheduled_jobs.set(len(self.objects))

    def owner(self, claimed: Owner) -> Tracked | None:
        """The tracked ScheduledJob of ``(namespace, uid)``: same uid and same namespace."""
        namespace, uid = claimed
        owner = self._by_uid.get(uid)
        return owner if owner is not None and owner.ref.namespace == namespace else None

    def _claimed(self, body: dict[str, Any], kind: str) -> Owner | None:
        """Whose run ``body`` is, by label and controller reference together; an object
        whose label and owner disagree is somebody's forgery and is ignored."""
        claimed = claimed_owner(body["metadata"])
        if claimed is None:
            self._metrics.foreign_objects.labels(kind).inc()
            meta = body["metadata"]
            log.warning(
                "object ignored: its scheduledjob-uid label names no controller owner",
                extra={"kind": kind, "object": f"{meta.get('namespace')}/{meta.get('name')}"},
            )
        return claimed

    def listed(self, kind: str) -> None:
        """A watch (one of :data:`WATCHED`) has listed every namespace in scope once."""
        self._listed.add(kind)
        if self._listed >= WATCHED:
            self.synced.set()

    # -- RunRequests and Jobs ----------------------------------------------------------

    def request_event(self, body: dict[str, Any], deleted: bool) -> None:
        """A RunRequest changed: keep it with its ScheduledJob; wake that at the due time."""
        name = body["metadata"]["name"]
        claimed = self._claimed(body, "RunRequest")
        if claimed is None:
            return
        owner = self.owner(claimed)
        requests = owner.requests if owner else self._orphan_requests.setdefault(claimed, {})
        if deleted:
            requests.pop(name, None)
            return
        known = requests.get(name)
        if known is not None and known.status.phase is not RequestPhase.PENDING:
            return  # settled: a phase of ours is newer than any echo (and nothing to parse)
        try:
            stored = StoredRequest.from_body(body)
        except ValueError as exc:
            log.warning("RunRequest ignored", extra={"request": name, "error": str(exc)})
            return
        if known is None:
            requests[name] = known = stored
        else:
            # Updated in place: a launch in progress holds this object.
            known.status = stored.status
        if owner and known.status.phase is RequestPhase.PENDING:
            self._wakeups.poke(owner.key, max(self._clock(), known.spec.due_time))

    def job_event(self, body: dict[str, Any], deleted: bool) -> None:
        seen = observe_job(body)
        if seen is None:
            return
        claimed = self._claimed(body, "Job")
        if claimed is None:
            return
        uid = claimed[1]
        if self.on_job is not None:
            self.on_job(claimed[0], uid, seen, deleted)
        owner = self.owner(claimed)
        if owner:
            owner.unseen.pop(seen.name, None)  # seen now: the watch speaks for it
        jobs = owner.jobs if owner else self._orphans.setdefault(claimed, {})
        if seen.request is not None:
            if deleted:
                if self.requested_jobs.get((uid, seen.request)) == seen.name:
                    del self.requested_jobs[(uid, seen.request)]
            else:
                self.requested_jobs[(uid, seen.request)] = seen.name
        if deleted:
            jobs.pop(seen.name, None)
            if self._recorder:
                self._recorder.forget(uid, seen.name)
        elif jobs.get(seen.name) == seen:
            # Most of a Job's updates (ready counts, pod bookkeeping) change nothing the
            # schedule or the status reads: no reconcile for them.
            return
        else:
            jobs[seen.name] = seen
        if owner:
            if self._recorder and seen.phase is RunPhase.RUNNING and not deleted:
                spec = owner.spec
                record = run_record(
                    owner.ref,
                    spec.template if spec else "",
                    seen,
                    params=spec.params if spec else None,
                )
                self._recorder.record(record)
            self._wakeups.observed(owner.key)

    def already_accepted(self, t: Tracked, name: str) -> bool:
        """The event behind request ``name`` has its record already: a RunRequest, or a
        Job made from it (one being created included). Exact once :attr:`synced` is set."""
        key = (t.ref.uid, name)
        return name in t.requests or key in self.requested_jobs or key in self.creating

    # -- templates ---------------------------------------------------------------------

    def template_body(self, body: dict[str, Any], deleted: bool, *, cluster: bool) -> None:
        """A JobTemplate (``cluster``: ClusterJobTemplate) as its watch delivers it; one
        whose spec does not parse counts as absent (its users say TemplateNotFound)."""
        meta = body["metadata"]
        spec: JobTemplateSpec | None = None
        if not deleted:
            try:
                spec = JobTemplateSpec.model_validate(body.get("spec") or {})
            except (AlmanacError, ValueError) as exc:
                log.warning("template ignored", extra={"template": meta["name"], "error": str(exc)})
        self.template_event("" if cluster else meta["namespace"], meta["name"], spec)

    def template_event(self, namespace: str, name: str, spec: JobTemplateSpec | None) -> None:
        """A template ("" namespace: cluster-wide) appeared, changed or went: the
        ScheduledJobs naming it are reconciled again. Watches deliver in no set order, so a
        ScheduledJob seen before its template waits for this (TemplateNotFound until then)."""
        if spec is None:
            self._templates.pop((namespace, name), None)
        else:
            self._templates[(namespace, name)] = spec
        for key, tracked in self.objects.items():
            uses = tracked.spec is not None and tracked.spec.template == name
            if uses and (not namespace or tracked.ref.namespace == namespace):
                self._wakeups.poke(key)

    def template(self, tracked: Tracked) -> JobTemplateSpec | None:
        """The template a ScheduledJob names: its namespace's, the cluster's, or built in."""
        assert tracked.spec is not None
        name = tracked.spec.template
        if name in BUILTIN_TEMPLATES and name not in self._builtins:
            self._builtins[name] = builtin_template(
                name, self._image, builtin_params_schema(name), self._pull_secrets
            )
        return choose_template(
            self._templates.get((tracked.ref.namespace, name)),
            self._templates.get(("", name)),
            self._builtins.get(name),
        )
