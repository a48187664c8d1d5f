"""A run as a Kubernetes Job: the manifest the operator creates and what it reads back.

Both directions are pure so the reconcile logic can be tested without a cluster. The Job
name, labels and annotation come from :mod:`almanac.core.naming` (invariant
one-run-per-slot: the name is the idempotency lock); the pod is built in
:mod:`almanac.core.runpod` (restricted Pod Security defaults, the podTemplate overlay).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Final

from almanac.core.durations import parse_duration
from almanac.core.models import API_VERSION, ScheduledJobSpec
from almanac.core.naming import (
    LABEL_ATTEMPT,
    LABEL_SCHEDULED_JOB_UID,
    LABEL_SLOT,
    LABEL_TRIGGER,
    controller_reference,
    rfc3339_utc,
    run_annotations,
    run_labels,
    run_name,
)
from almanac.core.podsecurity import RUN_USER
from almanac.core.podtemplate import RUN_CONTAINER, NameReference
from almanac.core.runpod import job_overlay, run_pod_spec
from almanac.core.status import RunPhase, TriggerKind
from almanac.core.templates import JobTemplateSpec
from almanac.core.tracing import TRACEPARENT_VARIABLE, run_traceparent
from almanac.core.vocabulary import (
    ANNOTATION_EVENT_ID,
    ANNOTATION_PRIORITY,
    ANNOTATION_QUEUED_REASON,
    JOB_DEADLINE_EXCEEDED,
    LABEL_QUEUED,
    LABEL_RUN_NOW_KEY,
    LABEL_RUN_REQUEST,
)

__all__ = [
    "ANNOTATION_EVENT_ID",
    "API_VERSION",
    "BUILTIN_TEMPLATES",
    "DEFAULT_IMAGE",
    "FINISHED_PHASES",
    "IMAGE_VARIABLE",
    "LABEL_RUN_NOW_KEY",
    "LABEL_RUN_REQUEST",
    "RUN_CONTAINER",
    "RUN_USER",
    "JobObservation",
    "RunRequest",
    "build_job",
    "builtin_template",
    "job_name_of",
    "observe_job",
    "run_now_label",
    "run_params",
]

#: Payload types the executor image implements; usable without installing a template.
BUILTIN_TEMPLATES: Final = frozenset({"http", "message", "command", "export", "email", "sql"})
EXECUTOR_COMMAND: Final = ("python3", "-m", "almanac.executor")
#: The image built-in templates run (the executor's): the operator's setting and its default.
IMAGE_VARIABLE: Final = "ALMANAC_IMAGE"
DEFAULT_IMAGE: Final = "localhost/almanac:dev"


@dataclass(frozen=True)
class RunRequest:
    """One run to launch: its slot, why it exists, and which attempt it is."""

    slot: datetime
    trigger: TriggerKind = TriggerKind.SCHEDULE
    attempt: int = 1
    n: int = 1
    run_now_key: str | None = None
    #: Event-driven runs: the RunRequest behind the run (only its name when the run was
    #: created at once), its mapped params (merged over ``spec.params``), the event as
    #: JSON, its identity and the sequence step.
    request: str | None = None
    params: Mapping[str, Any] | None = None
    event: Mapping[str, Any] | None = None
    event_id: str | None = None
    step: int | None = None


#: Phases after which a run changes no more (what a retry may repeat).
FINISHED_PHASES: Final = frozenset({RunPhase.SUCCEEDED, RunPhase.FAILED, RunPhase.CANCELLED})


@dataclass(frozen=True)
class JobObservation:
    """What the operator needs to know about one of its Jobs."""

    name: str
    slot: datetime
    trigger: TriggerKind
    attempt: int
    phase: RunPhase
    start_time: datetime | None
    completion_time: datetime | None
    request: str | None = None
    event_id: str | None = None
    #: The run-now key's label value (:func:`run_now_label`) of a run a user asked for.
    run_now: str | None = None
    #: Kubernetes ended it at ``activeDeadlineSeconds`` (failure reason DeadlineExceeded).
    timed_out: bool = False
    #: The Job is suspended (``spec.suspend``): it has no pod and is not an active run.
    suspended: bool = False
    #: Why a limit holds it in the launch queue (a :class:`~almanac.core.queueing.Cap`
    #: value), while it is suspended with the queue's mark; ``None``: not queued.
    queued: str | None = None
    #: Its PriorityClass value as recorded at launch (the queue's order).
    priority: int = 0
    #: When it joined the queue (its Job's creation), while queued.
    queued_at: datetime | None = None

    @property
    def finished(self) -> bool:
        return self.phase in FINISHED_PHASES

    @property
    def active(self) -> bool:
        """Running or about to (what limits count): neither finished nor suspended."""
        return not self.finished and not self.suspended


def builtin_template(
    name: str,
    image: str,
    params_schema: Mapping[str, Any] | None = None,
    pull_secrets: Sequence[str] = (),
) -> JobTemplateSpec:
    """The implicit template of a built-in payload type: the executor in Almanac's image,
    with the shipped template's params schema (:mod:`almanac.templates`) and the pull
    Secrets the operator was given for that image (``ALMANAC_RUN_IMAGE_PULL_SECRETS``).

    A ClusterJobTemplate of the same name, when installed, takes precedence.
    """
    schema = dict(params_schema) if params_schema is not None else None
    return JobTemplateSpec(
        image=image,
        command=list(EXECUTOR_COMMAND),
        params_schema=schema,
        image_pull_secrets=[NameReference(name=s) for s in pull_secrets] or None,
    )


def job_name_of(scheduled_job: str, uid: str, run: RunRequest) -> str:
    """The deterministic name of ``run``'s Job (what makes launching it twice collide)."""
    return run_name(scheduled_job, uid, run.slot, trigger=run.trigger, attempt=run.attempt, n=run.n)


def run_now_label(key: str) -> str:
    """Label value for a run-now key (keys are free text; label values are not)."""
    return hashlib.sha256(key.encode()).hexdigest()[:16]


def _env(
    name: str, namespace: str, job_name: str, spec: ScheduledJobSpec, run: RunRequest
) -> list[dict[str, Any]]:
    values = {
        "ALMANAC_RUN": job_name,
        "ALMANAC_SCHEDULEDJOB": name,
        "ALMANAC_NAMESPACE": namespace,
        "ALMANAC_TEMPLATE": spec.template,
        "ALMANAC_PARAMS": _json(run_params(spec, run)),
        "ALMANAC_SLOT": rfc3339_utc(run.slot),
        "ALMANAC_ATTEMPT": str(run.attempt),
        "ALMANAC_TRIGGER": run.trigger.value,
    }
    if run.event is not None:
        values["ALMANAC_EVENT"] = _json(run.event)
    if run.step is not None:
        values["ALMANAC_SEQUENCE_STEP"] = str(run.step)
    return [{"name": key, "value": value} for key, value in values.items()]


def _json(value: Any) -> str:
    return json.dumps(value, separators=(",", ":"), sort_keys=True)


def run_params(spec: ScheduledJobSpec, run: RunRequest) -> dict[str, Any]:
    """The params a run gets: ``spec.params``, overlaid by what its trigger mapped."""
    return {**spec.params, **(run.params or {})}


def build_job(
    *,
    name: str,
    namespace: str,
    uid: str,
    spec: ScheduledJobSpec,
    run: RunRequest,
    template: JobTemplateSpec,
    extra_env: Mapping[str, str] | None = None,
    queued: str | None = None,
    priority: int = 0,
) -> dict[str, Any]:
    """The ``batch/v1`` Job of one run.

    ``backoffLimit: 0`` because retries are the operator's (a retry is a new attempt Job
    with its own name); the owner reference lets Kubernetes garbage-collect runs with
    their ScheduledJob; the pod is :func:`~almanac.core.runpod.run_pod_spec`'s.

    ``queued`` (the limit that holds it): the Job is created suspended and marked, so its
    name holds the run (invariant one-run-per-slot) while no pod starts; releasing it
    un-suspends it. Kubernetes sets ``startTime`` only then, so ``activeDeadlineSeconds``
    (the run's timeout) counts from the real start.
    """
    job_name = job_name_of(name, uid, run)
    labels = dict(run_labels(name, uid, run.slot, trigger=run.trigger, attempt=run.attempt))
    if run.run_now_key is not None:
        labels[LABEL_RUN_NOW_KEY] = run_now_label(run.run_now_key)
    if run.request is not None:
        labels[LABEL_RUN_REQUEST] = run.request
    annotations = dict(run_annotations(run.slot))
    if run.event_id is not None:
        annotations[ANNOTATION_EVENT_ID] = run.event_id
    job_labels = dict(labels)
    if queued is not None:
        job_labels[LABEL_QUEUED] = "true"
        annotations |= {ANNOTATION_QUEUED_REASON: queued, ANNOTATION_PRIORITY: str(priority)}
    pod = spec.pod_template
    timeout = spec.timeout or template.timeout
    env = [{"name": k, "value": v} for k, v in sorted((extra_env or {}).items())]
    env += _env(name, namespace, job_name, spec, run)
    # The run's trace context, derived from its identity: the same Job body every time.
    env.append({"name": TRACEPARENT_VARIABLE, "value": run_traceparent(uid, job_name)})
    job_spec: dict[str, Any] = {
        **job_overlay(pod),
        "backoffLimit": 0,
        "template": {
            "metadata": {
                "labels": labels | dict(pod.labels if pod and pod.labels else {}),
                "annotations": dict(pod.annotations if pod and pod.annotations else {}),
            },
            "spec": run_pod_spec(spec, template, env),
        },
    }
    if timeout:
        seconds = parse_duration(timeout, "spec.timeout").total_seconds()
        job_spec["activeDeadlineSeconds"] = max(1, int(seconds))
    if queued is not None:
        job_spec["suspend"] = True
    return {
        "apiVersion": "batch/v1",
        "kind": "Job",
        "metadata": {
            "name": job_name,
            "namespace": namespace,
            "labels": job_labels,
            "annotations": annotations | {"argocd.argoproj.io/ignore-resource-updates": "true"},
            "ownerReferences": [controller_reference(name, uid)],
        },
        "spec": job_spec,
    }


def _parse_time(text: str | None) -> datetime | None:
    if not text:
        return None
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def _condition(status: Mapping[str, Any], *types: str) -> bool:
    return any(
        c.get("type") in types and c.get("status") == "True" for c in status.get("conditions") or []
    )


def _deadline_exceeded(status: Mapping[str, Any]) -> bool:
    return any(
        c.get("type") in ("Failed", "FailureTarget")
        and c.get("status") == "True"
        and c.get("reason") == JOB_DEADLINE_EXCEEDED
        for c in status.get("conditions") or []
    )


def observe_job(job: Mapping[str, Any]) -> JobObservation | None:
    """Read a Job the operator created; ``None`` if it does not carry Almanac's labels.

    Since Kubernetes 1.31 ``SuccessCriteriaMet``/``FailureTarget`` come before
    ``Complete``/``Failed`` (which wait for pods to terminate): either counts as finished.
    A Job that is being deleted without finishing was cancelled (Replace, or by hand).

    A suspended Job is ``Pending`` and not active: it has no pod. With the queue's mark
    it is a queued run. Its start is unknown until it runs (a Job that was queued has no
    start before Kubernetes sets ``startTime`` on release): queue time is not run time.
    """
    meta = job.get("metadata", {})
    labels = meta.get("labels") or {}
    if LABEL_SCHEDULED_JOB_UID not in labels or LABEL_SLOT not in labels:
        return None
    status = job.get("status") or {}
    if _condition(status, "Complete", "SuccessCriteriaMet"):
        phase = RunPhase.SUCCEEDED
    elif _condition(status, "Failed", "FailureTarget"):
        phase = RunPhase.FAILED
    elif meta.get("deletionTimestamp"):
        phase = RunPhase.CANCELLED
    elif status.get("active") or status.get("ready"):
        phase = RunPhase.RUNNING
    else:
        phase = RunPhase.PENDING
    try:
        trigger = TriggerKind(labels.get(LABEL_TRIGGER, TriggerKind.SCHEDULE.value))
    except ValueError:
        trigger = TriggerKind.SCHEDULE
    annotations = meta.get("annotations") or {}
    suspended = (job.get("spec") or {}).get("suspend") is True and phase is RunPhase.PENDING
    was_queued = ANNOTATION_QUEUED_REASON in annotations
    queued = (
        str(annotations.get(ANNOTATION_QUEUED_REASON) or "")
        if suspended and labels.get(LABEL_QUEUED) == "true"
        else None
    )
    created = None if suspended or was_queued else _parse_time(meta.get("creationTimestamp"))
    return JobObservation(
        name=str(meta.get("name", "")),
        slot=datetime.fromtimestamp(int(labels[LABEL_SLOT]), UTC),
        trigger=trigger,
        attempt=int(labels.get(LABEL_ATTEMPT, "1")),
        phase=phase,
        start_time=None if suspended else _parse_time(status.get("startTime")) or created,
        completion_time=_parse_time(status.get("completionTime"))
        or (_finished_at(status) if phase in (RunPhase.SUCCEEDED, RunPhase.FAILED) else None),
        request=labels.get(LABEL_RUN_REQUEST),
        event_id=annotations.get(ANNOTATION_EVENT_ID),
        run_now=labels.get(LABEL_RUN_NOW_KEY),
        timed_out=phase is RunPhase.FAILED and _deadline_exceeded(status),
        suspended=suspended,
        queued=queued,
        priority=_int(annotations.get(ANNOTATION_PRIORITY)),
        queued_at=_parse_time(meta.get("creationTimestamp")) if queued is not None else None,
    )


def _int(text: str | None) -> int:
    try:
        return int(text or 0)
    except ValueError:
        return 0


def _finished_at(status: Mapping[str, Any]) -> datetime | None:
    times = [
        _parse_time(c.get("lastTransitionTime"))
        for c in status.get("conditions") or []
        if c.get("type") in ("Complete", "Failed", "SuccessCriteriaMet", "FailureTarget")
    ]
    return max((t for t in times if t is not None), default=None)
