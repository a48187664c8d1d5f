"""One ScheduledJob as the operator holds it in memory, built from watch events."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from almanac.core.errors import AlmanacError
from almanac.core.models import ScheduledJobSpec
from almanac.core.plan import compile_spec
from almanac.core.resource import parse_spec
from almanac.core.runs import JobObservation
from almanac.core.schedule import CompiledSchedule
from almanac.core.snapshot import ObjectRef, Snapshot, StoredRequest
from almanac.core.status import ScheduledJobStatus
from almanac.core.templates import JobTemplateSpec
from almanac.core.templateuse import use_refusal
from almanac.core.triggers import CompiledTrigger, compile_triggers
from almanac.core.vocabulary import ANNOTATION_RETRY, ANNOTATION_RUN_NOW

__all__ = ["UNSEEN_FOR", "StoredRequest", "Tracked"]

#: How long a Job this process created counts as pending without its watch showing it
#: (a watch shows a new Job within milliseconds; one deleted before it was ever seen
#: must not hold a Forbid job forever).
UNSEEN_FOR = 60.0


def _time(text: str | None) -> datetime:
    if not text:
        return datetime.now(UTC)
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def _older(candidate: str, current: str) -> bool:
    """resourceVersions are opaque, but etcd's are integers: use that when it holds."""
    try:
        return int(candidate) < int(current)
    except ValueError:
        return False


@dataclass
class Tracked:
    """The latest body of a ScheduledJob plus what its Jobs say."""

    ref: ObjectRef
    generation: int
    created: datetime
    resource_version: str
    annotations: dict[str, str]
    spec: ScheduledJobSpec | None
    compiled: CompiledSchedule | None
    error: AlmanacError | None
    #: The status as last seen or computed (a plain dict: parsed only while a reconcile
    #: reads it; ten thousand idle objects would otherwise each keep a model too).
    status_doc: dict[str, Any]
    jobs: dict[str, JobObservation] = field(default_factory=dict)
    messages: dict[str, str] = field(default_factory=dict)
    buffered: datetime | None = None
    written: dict[str, Any] | None = None
    pending: dict[str, Any] | None = None
    announced: set[str] = field(default_factory=set)
    #: Finished runs to record again, quietly (their row was evicted from the buffer).
    rerecord: set[str] = field(default_factory=set)
    triggers: tuple[CompiledTrigger, ...] = ()
    requests: dict[str, StoredRequest] = field(default_factory=dict)
    #: Per trigger name: received, matched, launched, cancelled, failed (and last_error).
    trigger_counts: dict[str, dict[str, Any]] = field(default_factory=dict)
    #: The last template check: (template, spec, refusal); valid while both are the same
    #: objects (a new spec or template object means an edit).
    template_check: tuple[object, object, AlmanacError | None] | None = None
    #: Jobs this process created that the watch has not shown yet, with when (monotonic):
    #: they count as pending runs, so the next pass cannot overlap them.
    unseen: dict[str, tuple[JobObservation, float]] = field(default_factory=dict)
    _status: ScheduledJobStatus | None = field(default=None, repr=False, compare=False)

    @classmethod
    def from_body(cls, body: dict[str, Any]) -> Tracked:
        meta = body["metadata"]
        spec: ScheduledJobSpec | None = None
        compiled: CompiledSchedule | None = None
        triggers: tuple[CompiledTrigger, ...] = ()
        error: AlmanacError | None = None
        try:
            spec = parse_spec(body.get("spec") or {})
            compiled = compile_spec(spec)
            triggers = compile_triggers(spec.triggers)
        except AlmanacError as exc:
            error = exc
        status_doc = body.get("status") or {}
        status = ScheduledJobStatus.model_validate(status_doc)
        return cls(
            ref=ObjectRef(meta["namespace"], meta["name"], meta["uid"]),
            generation=int(meta.get("generation", 1)),
            created=_time(meta.get("creationTimestamp")),
            resource_version=str(meta.get("resourceVersion", "")),
            annotations=dict(meta.get("annotations") or {}),
            spec=spec,
            compiled=compiled,
            error=error,
            status_doc=status_doc,
            # What the API server holds is what was written: a new leader whose pass
            # computes the same status writes nothing (a restart that changes nothing).
            written=status_doc or None,
            triggers=triggers,
            trigger_counts={
                c.name: c.model_dump(by_alias=False, exclude={"name"}, exclude_none=True)
                for c in status.triggers or []
            },
        )

    def refresh(self, body: dict[str, Any]) -> None:
        """Take a newer body, keeping the Jobs and what only this process knows."""
        fresh = Tracked.from_body(body)
        fresh.jobs, fresh.messages, fresh.buffered = self.jobs, self.messages, self.buffered
        fresh.written, fresh.announced = self.written, self.announced
        fresh.rerecord, fresh.unseen = self.rerecord, self.unseen
        fresh.pending = self.pending
        fresh.requests, fresh.trigger_counts = self.requests, self.trigger_counts
        if self.pending is not None or _older(fresh.resource_version, self.resource_version):
            # Our newer status is not written yet, or this event is older than our own
            # last patch: keep what we know.
            fresh.status_doc, fresh._status = self.status_doc, self._status
            fresh.resource_version = self.resource_version
        self.__dict__.update(fresh.__dict__)

    def only_status_changed(self, body: dict[str, Any]) -> bool:
        """True when a newer body differs from ours in status only (same generation,
        same annotations): the echo of a status write."""
        meta = body["metadata"]
        return (
            int(meta.get("generation", 1)) == self.generation
            and dict(meta.get("annotations") or {}) == self.annotations
            and not _older(str(meta.get("resourceVersion", "")), self.resource_version)
        )

    @property
    def status(self) -> ScheduledJobStatus:
        """The status as a model, parsed on first use after each change."""
        if self._status is None:
            self._status = ScheduledJobStatus.model_validate(self.status_doc)
        return self._status

    def set_status(self, status: dict[str, Any]) -> None:
        """A newly computed status (the model is parsed again when next read)."""
        self.status_doc, self._status = status, None

    @property
    def key(self) -> tuple[str, str]:
        return (self.ref.namespace, self.ref.name)

    @property
    def run_now_key(self) -> str | None:
        return self.annotations.get(ANNOTATION_RUN_NOW) or None

    @property
    def retry_request(self) -> str | None:
        """The run a user asked to retry (``almanac.dev/retry: <run name>``)."""
        return self.annotations.get(ANNOTATION_RETRY) or None

    def snapshot(
        self,
        *,
        template: JobTemplateSpec | None,
        held: frozenset[str],
        degraded: str | None,
        event_record_window: timedelta,
        events_read_to: datetime | None = None,
    ) -> Snapshot:
        """This ScheduledJob as one reconcile pass reads it. The Jobs and requests are
        shared, not copied: the pass is synchronous, so nothing changes them under it."""
        jobs = self.jobs
        if self.unseen:
            now = time.monotonic()
            self.unseen = {
                name: (seen, at)
                for name, (seen, at) in self.unseen.items()
                if name not in self.jobs and now - at < UNSEEN_FOR
            }
            jobs = {name: seen for name, (seen, _) in self.unseen.items()} | self.jobs
        return Snapshot(
            ref=self.ref,
            created=self.created,
            spec=self.spec,
            compiled=self.compiled,
            error=self.error,
            generation=self.generation,
            annotations=self.annotations,
            status=self.status,
            jobs=jobs,
            requests=self.requests,
            messages=self.messages,
            trigger_names=tuple(trigger.name for trigger in self.triggers),
            trigger_counts=self.trigger_counts,
            buffered=self.buffered,
            template=template,
            refusal=self.template_refusal(template) if template is not None else None,
            held=held,
            degraded=degraded,
            event_record_window=event_record_window,
            events_read_to=events_read_to,
        )

    def template_refusal(self, template: JobTemplateSpec) -> AlmanacError | None:
        """Params must satisfy the template's schema, and the template must allow the
        namespace: checked at admission too, and again here because templates change
        (once per spec and template: schema validation was a tenth of a launch burst's
        CPU). A trigger-only job's params are complete only once an event's mapping is
        merged in, and are checked then (a refused request is Failed with the reason)."""
        if self.spec is None:
            return None
        if self.template_check is not None:
            checked_template, checked_spec, verdict = self.template_check
            if checked_template is template and checked_spec is self.spec:
                return verdict
        params = self.spec.params if self.spec.schedule is not None else None
        verdict = use_refusal(
            self.spec.template,
            template.allowed_namespaces,
            self.ref.namespace,
            params,
            template.params_schema,
        )
        self.template_check = (template, self.spec, verdict)
        return verdict

    def count(self, trigger: str, outcome: str, error: str | None = None) -> None:
        """Bump one of a trigger's counters (written with the next status)."""
        counts = self.trigger_counts.setdefault(trigger, {})
        counts[outcome] = counts.get(outcome, 0) + 1
        if error is not None:
            counts["last_error"] = error[:1024]
