"""The admission verdict on one Almanac manifest, pure: what the validating webhook refuses
at ``kubectl apply`` and what ``almanac lint`` refuses in a GitOps CI, from one function.

Why here and not in the webhook: a linter that re-implemented the checks would drift from
admission (a manifest passing CI and refused at sync, or the reverse). The webhook
(:mod:`almanac.operator.webhook`) and the CLI (:mod:`almanac.cli.offline`) both call
:func:`spec_problems`, :func:`chain_problems` and :func:`template_use_problems`; only the
reads differ (the API server for the webhook, the files given for the linter).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Final

from jsonschema import Draft202012Validator
from jsonschema.exceptions import SchemaError

from almanac.core.errors import AlmanacError, InvalidInputError, InvalidSpecError
from almanac.core.kafkanames import DEFAULT_NAMES, KafkaNames
from almanac.core.params import pattern_problems
from almanac.core.resource import format_location, validate_model
from almanac.core.specs import check_spec
from almanac.core.templates import JobTemplateSpec
from almanac.core.templateuse import use_refusal
from almanac.core.triggers import find_chain_cycle
from almanac.core.vocabulary import GROUP

__all__ = [
    "VALIDATED_KINDS",
    "ChainEdges",
    "Problems",
    "TemplateRules",
    "chain_problems",
    "missing_priority_class",
    "rules_of",
    "spec_problems",
    "template_use_problems",
    "upstreams",
    "validate_scheduled_job",
    "validate_template",
]

Problems = list[AlmanacError]
#: Upstream names per ScheduledJob of one namespace (``after`` triggers): the chain graph.
ChainEdges = Mapping[str, list[str]]


@dataclass(frozen=True)
class TemplateRules:
    """What a template asks of the jobs that use it (``allowed``: a ClusterJobTemplate's
    namespaces, ``None`` for all)."""

    allowed: list[str] | None
    params_schema: dict[str, Any] | None


def rules_of(
    namespaced: Mapping[str, Any] | None, cluster: Mapping[str, Any] | None
) -> TemplateRules | None:
    """What the template a name resolves to asks, from the specs of the namespace's
    JobTemplate and the ClusterJobTemplate of that name (the namespaced one wins and serves
    its namespace only); ``None`` when neither exists (the caller tries the built-in type)."""
    if namespaced is not None:
        return TemplateRules(None, namespaced.get("paramsSchema"))
    if cluster is not None:
        return TemplateRules(cluster.get("allowedNamespaces"), cluster.get("paramsSchema"))
    return None


def validate_scheduled_job(spec: Any, kafka_names: KafkaNames = DEFAULT_NAMES) -> Problems:
    """The engine's verdict on a ScheduledJob ``spec``: parse, then compile the schedule;
    Almanac's Kafka names are this installation's (the facade checks with the same)."""
    if not isinstance(spec, dict):
        return [InvalidInputError("must be an object", "spec")]
    try:
        check_spec(spec, kafka_names=kafka_names)
    except InvalidSpecError as exc:
        return list(exc.problems)
    except AlmanacError as exc:
        return [exc]
    return []


def validate_template(spec: Any, _: KafkaNames = DEFAULT_NAMES) -> Problems:
    """A JobTemplate or ClusterJobTemplate ``spec``; ``paramsSchema`` must be a JSON Schema
    (Kafka names do not apply to templates)."""
    if not isinstance(spec, dict):
        return [InvalidInputError("must be an object", "spec")]
    problems: Problems = []
    try:
        validate_model(JobTemplateSpec, spec, "spec")
    except InvalidSpecError as exc:
        problems.extend(exc.problems)
    schema = spec.get("paramsSchema")
    if schema is None or any(p.field.startswith("spec.paramsSchema") for p in problems):
        return problems
    try:
        Draft202012Validator.check_schema(schema)
    except SchemaError as exc:
        field = format_location(tuple(exc.path), "spec.paramsSchema")
        problems.append(
            InvalidInputError(
                f"is not a valid JSON Schema (draft 2020-12): {exc.message}; fix this keyword",
                field,
            )
        )
        return problems
    # Patterns a tenant's params are matched against must not backtrack (core.patterns).
    problems.extend(pattern_problems(schema, "spec.paramsSchema"))
    return problems


#: The kinds admission judges, by (group, kind), and their check.
VALIDATED_KINDS: Final[Mapping[tuple[str, str], Callable[[Any, KafkaNames], Problems]]] = {
    (GROUP, "ScheduledJob"): validate_scheduled_job,
    (GROUP, "JobTemplate"): validate_template,
    (GROUP, "ClusterJobTemplate"): validate_template,
}


def spec_problems(
    group: Any, kind: Any, spec: Any, kafka_names: KafkaNames = DEFAULT_NAMES
) -> Problems | None:
    """Every problem of a manifest's ``spec`` that needs no read (``None``: a kind Almanac
    does not validate)."""
    validate = VALIDATED_KINDS.get((group, kind))
    return None if validate is None else validate(spec, kafka_names)


def upstreams(spec: Any) -> list[str]:
    """The ScheduledJobs a (raw) spec runs after."""
    triggers = spec.get("triggers") if isinstance(spec, dict) else None
    return [
        str(t["after"]["scheduledJob"])
        for t in triggers or []
        if isinstance(t, dict)
        and isinstance(t.get("after"), dict)
        and t["after"].get("scheduledJob")
    ]


def chain_problems(name: str, spec: Any, chains: ChainEdges) -> Problems:
    """``after`` triggers may not form a cycle (a run would trigger itself for ever);
    ``chains`` are the other ScheduledJobs of the namespace."""
    mine = upstreams(spec)
    if not mine:
        return []
    cycle = find_chain_cycle({**chains, name: mine}, name)
    if cycle is None:
        return []
    index = next(
        i
        for i, t in enumerate(spec.get("triggers") or [])
        if isinstance(t, dict)
        and isinstance(t.get("after"), dict)
        and t["after"].get("scheduledJob") == cycle[1]
    )
    return [
        InvalidInputError(
            f"after triggers would form a cycle ({' -> '.join(cycle)}); remove one of them",
            f"spec.triggers[{index}].after.scheduledJob",
        )
    ]


def missing_priority_class(name: str) -> InvalidInputError:
    """``spec.priority`` names no PriorityClass: refused at every door (the webhook reads
    the cluster's classes, the facade too), since Kubernetes would refuse every run pod."""
    return InvalidInputError(
        f"no PriorityClass named {name!r} exists; name one that `kubectl get priorityclasses` "
        "lists, or ask your platform team to create it",
        "spec.priority",
    )


def template_use_problems(
    spec: Mapping[str, Any], namespace: str, rules: TemplateRules | None
) -> Problems:
    """The template must serve the namespace and accept the params (the check the facade
    and the operator's launches make, :mod:`almanac.core.templateuse`). ``rules`` ``None``:
    the template does not exist yet, which is not a refusal (the job waits for it, as
    GitOps may apply the template after the job)."""
    name = spec.get("template")
    if rules is None or not isinstance(name, str) or not name:
        return []
    # Trigger-only jobs get the rest of their params from each event: checked per run.
    raw = spec.get("params")
    params = (raw if isinstance(raw, Mapping) else {}) if spec.get("schedule") else None
    refused = use_refusal(name, rules.allowed, namespace, params, rules.params_schema)
    return [] if refused is None else list(getattr(refused, "problems", ())) or [refused]
