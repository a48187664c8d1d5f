"""The validating admission webhook: bad ScheduledJobs and templates are refused at apply.

The CRD's CEL rules cannot see what only the engine knows (``spec.schedule.cron`` is a
string or a list, so its schema preserves unknown fields; time zones; cron ranges;
schedules that never fire). This webhook runs the engine's own boundary
(:mod:`almanac.core.admission` over :func:`~almanac.core.specs.check_spec`, which the REST
facade also runs before it writes, and ``almanac lint`` offline)
on every CREATE and UPDATE and refuses with the engine's field-named messages. Invariant
protected: bad input is refused at ``kubectl apply``; nothing bad reaches a pod.

Layers: :func:`review` is pure (AdmissionReview dict in, AdmissionReview dict out) and holds
every decision; :func:`respond` maps raw bodies and malformed reviews to HTTP and does the
reads a decision needs (the chain graph, the writer's permissions: :mod:`.deputy`); the
aiohttp handlers in :mod:`.webhookserver` only read the body and write the answer.
:func:`~.webhookconfig.webhook_configuration` builds the
``ValidatingWebhookConfiguration``; :func:`apply_webhook_configuration` writes it with
server-side apply, so every replica may call it at start-up.

Every replica serves the webhook, leader or not: admission must not wait for an election.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable, Mapping, Sequence
from typing import Any, ClassVar, Final

from almanac.core.admission import ChainEdges, Problems, chain_problems, spec_problems, upstreams
from almanac.core.errors import AlmanacError, InvalidInputError
from almanac.core.kafkanames import DEFAULT_NAMES, KafkaNames
from almanac.core.powers import Power
from almanac.core.vocabulary import ANNOTATION_BACKFILL, ANNOTATION_RETRY, ANNOTATION_RUN_NOW, GROUP

from .admissionreads import (
    NamespaceLookup,
    PriorityLookup,
    TemplateLookup,
    namespace_problems,
    priority_problems,
    template_problems,
)
from .deputy import AccessCheck, denied_powers, forbidden_causes

__all__ = [
    "MAX_BODY",
    "RUNREQUESTS_PATH",
    "SCHEDULEDJOBS_PATH",
    "TEMPLATES_PATH",
    "ChainLookup",
    "MalformedReviewError",
    "error_body",
    "respond",
    "review",
]

REVIEW_API_VERSION: Final = "admission.k8s.io/v1"
SCHEDULEDJOBS_PATH: Final = "/validate/scheduledjobs"
TEMPLATES_PATH: Final = "/validate/jobtemplates"
RUNREQUESTS_PATH: Final = "/validate/runrequests"
#: An UPDATE carries the object and the old object (each up to etcd's 1.5 MiB).
MAX_BODY: Final = 8 * 1024 * 1024


class MalformedReviewError(InvalidInputError):
    """A request body that is not an ``admission.k8s.io/v1`` AdmissionReview request."""

    code: ClassVar[str] = "malformed_admission_review"


# --- the decision (pure) ------------------------------------------------------------


#: Reads the specs of a namespace's ScheduledJobs by name (the API server's view).
ChainLookup = Callable[[str], Awaitable[Mapping[str, Any]]]


def review(
    body: Any,
    chains: ChainEdges | None = None,
    kafka_names: KafkaNames = DEFAULT_NAMES,
    *,
    denied: Sequence[Power] = (),
    writers: frozenset[str] = frozenset(),
    found: Sequence[AlmanacError] = (),
) -> dict[str, Any]:
    """Answer one AdmissionReview: allow, or refuse naming every bad field and its fix.

    Only CREATE and UPDATE of the main resource are judged; an UPDATE that leaves ``spec``
    as it was is allowed (with a warning if it is invalid), so objects stored before the
    webhook existed can still be relabelled, finalised and deleted.

    ``chains`` is the namespace's chain graph (other ScheduledJobs' ``after`` upstreams);
    with it, a ScheduledJob that would close a cycle of ``after`` triggers is refused.

    ``found`` are problems of a ScheduledJob the caller found with reads (an export naming
    an organisation its namespace does not belong to).

    ``writers`` are the users that may write RunRequests (the operator, the facade): a
    RunRequest launches its ScheduledJob's run with the params it carries, so one written
    by anybody else is refused, whatever RBAC granted them.

    Raises
    ------
    MalformedReviewError
        ``body`` is not an AdmissionReview request (the HTTP edge answers 400).
    """
    request = _request(body)
    return {
        "apiVersion": REVIEW_API_VERSION,
        "kind": "AdmissionReview",
        "response": {
            "uid": request["uid"],
            **_decide(
                request, chains or {}, kafka_names, denied=denied, writers=writers, found=found
            ),
        },
    }


def _request(body: Any) -> dict[str, Any]:
    if not isinstance(body, dict):
        raise MalformedReviewError("expected a JSON AdmissionReview object", "")
    if body.get("apiVersion") != REVIEW_API_VERSION or body.get("kind") != "AdmissionReview":
        raise MalformedReviewError(
            f"expected apiVersion {REVIEW_API_VERSION} and kind AdmissionReview; "
            "list v1 in admissionReviewVersions",
            "apiVersion",
        )
    request = body.get("request")
    if not isinstance(request, dict):
        raise MalformedReviewError("is required and must be an object", "request")
    if not isinstance(request.get("uid"), str) or not request["uid"]:
        raise MalformedReviewError("is required and must be a non-empty string", "request.uid")
    if not isinstance(request.get("kind"), dict):
        raise MalformedReviewError("is required and must be a GroupVersionKind", "request.kind")
    if request.get("operation") in ("CREATE", "UPDATE") and not isinstance(
        request.get("object"), dict
    ):
        raise MalformedReviewError("must be an object for CREATE and UPDATE", "request.object")
    return request


def _decide(
    request: dict[str, Any],
    chains: ChainEdges,
    kafka_names: KafkaNames,
    *,
    denied: Sequence[Power],
    writers: frozenset[str],
    found: Sequence[AlmanacError],
) -> dict[str, Any]:
    if request.get("operation") not in ("CREATE", "UPDATE") or request.get("subResource"):
        return {"allowed": True}
    kind = request["kind"]
    if (kind.get("group"), kind.get("kind")) == (GROUP, "RunRequest"):
        return _writer_decision(request, writers)
    spec = request["object"].get("spec", {})
    checked = spec_problems(kind.get("group"), kind.get("kind"), spec, kafka_names)
    if checked is None:
        return {"allowed": True, "warnings": [f"{kind.get('kind')} is not validated by Almanac"]}
    problems = checked
    if kind.get("kind") == "ScheduledJob":
        problems += found
    if not problems and kind.get("kind") == "ScheduledJob":
        problems = _chain_problems(request, spec, chains)
    if not problems and denied:
        causes = forbidden_causes(request, denied)
        status = _status(request, 403, "Forbidden", "FieldValueForbidden", causes)
        return {"allowed": False, "status": status}
    if not problems:
        return {"allowed": True}
    old = request.get("oldObject")
    if request["operation"] == "UPDATE" and isinstance(old, dict) and old.get("spec") == spec:
        return {"allowed": True, "warnings": [f"unchanged but invalid: {p}" for p in problems]}
    return {"allowed": False, "status": _refusal(request, problems)}


def _writer_decision(request: Mapping[str, Any], writers: frozenset[str]) -> dict[str, Any]:
    """Only Almanac's own writers create or change a RunRequest's spec: one forged by a user
    with RBAC rights on RunRequests would launch a job with the forger's params."""
    user = request.get("userInfo") or {}
    username = user.get("username") if isinstance(user, Mapping) else None
    if isinstance(username, str) and username in writers:
        return {"allowed": True}
    message = (
        f"RunRequests are written only by the Almanac operator and the REST facade, not by "
        f"{username or 'an anonymous user'}; ask for a run with the facade's run or backfill "
        f"routes, or annotate the ScheduledJob ({ANNOTATION_RUN_NOW}, {ANNOTATION_RETRY}, "
        f"{ANNOTATION_BACKFILL}: almanac run, retry, backfill)"
    )
    return {
        "allowed": False,
        "status": _status(request, 403, "Forbidden", "Forbidden", [("", message)]),
    }


def _refusal(request: Mapping[str, Any], problems: Problems) -> dict[str, Any]:
    """A ``metav1.Status`` the API server passes to kubectl: 422 Invalid, one cause a field."""
    causes = [(p.field, p.message) for p in problems]
    return _status(request, 422, "Invalid", "FieldValueInvalid", causes)


def _status(
    request: Mapping[str, Any],
    code: int,
    reason: str,
    cause_reason: str,
    causes: Sequence[tuple[str, str]],
) -> dict[str, Any]:
    """A refusal kubectl prints as ``The <Kind> "<name>" is <reason>: field: message; ...``."""
    kind = request.get("kind") or {}
    return {
        "status": "Failure",
        "code": code,
        "reason": reason,
        "message": "; ".join(
            f"{field}: {message}" if field else message for field, message in causes
        ),
        "details": {
            "name": request.get("name", ""),
            "group": kind.get("group", ""),
            "kind": kind.get("kind", ""),
            "causes": [
                {"reason": cause_reason, "field": field, "message": message}
                for field, message in causes
            ],
        },
    }


def _chain_problems(request: Mapping[str, Any], spec: Any, chains: ChainEdges) -> Problems:
    name = str(request.get("name") or request["object"].get("metadata", {}).get("name", ""))
    return chain_problems(name, spec, chains)


async def respond(
    raw: bytes,
    chains: ChainLookup | None = None,
    kafka_names: KafkaNames = DEFAULT_NAMES,
    *,
    access: AccessCheck | None = None,
    writers: frozenset[str] = frozenset(),
    namespaces: NamespaceLookup | None = None,
    templates: TemplateLookup | None = None,
    priorities: PriorityLookup | None = None,
) -> tuple[int, dict[str, Any]]:
    """Map a raw request body to (HTTP status, JSON body); malformed input is a 400.

    The chain graph is read (``chains``) only for ScheduledJobs with ``after`` triggers;
    the writer's permissions (``access``) only for the run powers a ScheduledJob adds; the
    namespace's metadata (``namespaces``) only for an export that names an organisation or a
    job that names a Kafka topic; its template (``templates``) for every ScheduledJob;
    the PriorityClasses (``priorities``) for a job with ``spec.priority``
    (:mod:`.admissionreads`).
    """
    try:
        body = json.loads(raw)
    except ValueError:
        return 400, error_body(
            MalformedReviewError("body is not JSON; send an AdmissionReview", "")
        )
    edges: ChainEdges = {}
    request = body.get("request") if isinstance(body, dict) else None
    obj = request.get("object") if isinstance(request, dict) else None
    if chains is not None and isinstance(obj, dict) and upstreams(obj.get("spec")):
        assert isinstance(request, dict)
        specs = await chains(str(request.get("namespace") or ""))
        edges = {name: ups for name, spec in specs.items() if (ups := upstreams(spec))}
    try:
        denied: list[Power] = []
        found: Problems = []
        if isinstance(request, dict) and _is_scheduled_job(request):  # reads it needs
            if access is not None:
                denied = await denied_powers(request, access)
            if namespaces is not None:
                found += await namespace_problems(request, namespaces)
            if templates is not None:
                found += await template_problems(request, templates)
            if priorities is not None:
                found += await priority_problems(request, priorities)
        return 200, review(body, edges, kafka_names, denied=denied, writers=writers, found=found)
    except MalformedReviewError as exc:
        return 400, error_body(exc)


def _is_scheduled_job(request: Mapping[str, Any]) -> bool:
    kind = request.get("kind")
    return isinstance(kind, Mapping) and (kind.get("group"), kind.get("kind")) == (
        GROUP,
        "ScheduledJob",
    )


def error_body(exc: AlmanacError) -> dict[str, Any]:
    return {"code": exc.code, "errors": [{"field": exc.field, "message": exc.message}]}
