"""What admission must read from the API server to judge a ScheduledJob, and the problems
it finds there: the namespace's policy (an export's organisation, the Kafka topics) and the
template the job names (the namespaces it serves, its params schema).

Why here and not in :mod:`.webhook`: the decision there is pure, given these problems; the
reads happen once per review, only for the jobs that need them, through lookups the
operator's :class:`~.kube.Kube` provides (and tests replace).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from typing import Any

from almanac.core.admission import TemplateRules, missing_priority_class, template_use_problems
from almanac.core.errors import AlmanacError
from almanac.core.namespaces import NamespacePolicy
from almanac.core.orgs import foreign_org_problem, named_org
from almanac.core.topicpolicy import spec_topics, topic_problems

__all__ = [
    "NamespaceLookup",
    "PriorityLookup",
    "TemplateLookup",
    "TemplateRules",
    "namespace_problems",
    "priority_problems",
    "template_problems",
]


#: Reads what a namespace's metadata says (its organisation, its Kafka topics).
NamespaceLookup = Callable[[str], Awaitable[NamespacePolicy]]
#: Resolves a template name in a namespace (namespaced, cluster, built-in); ``None``: none.
TemplateLookup = Callable[[str, str], Awaitable[TemplateRules | None]]
#: Whether a PriorityClass of that name exists.
PriorityLookup = Callable[[str], Awaitable[bool]]


def _spec(request: Mapping[str, Any]) -> Mapping[str, Any] | None:
    obj = request.get("object")
    spec = obj.get("spec") if isinstance(obj, Mapping) else None
    return spec if isinstance(spec, Mapping) else None


async def namespace_problems(
    request: Mapping[str, Any], read: NamespaceLookup
) -> list[AlmanacError]:
    """An export may name only its namespace's organisation (:mod:`almanac.core.orgs`), a
    job only the topics of its allow-list (:mod:`almanac.core.topicpolicy`)."""
    spec = _spec(request)
    if spec is None or (named_org(spec) is None and not spec_topics(spec)):
        return []
    policy = await read(str(request.get("namespace") or ""))
    org = policy.org_id
    fix = f"set it to {org!r}" if org else "ask for the namespace to be labelled first"
    problems: list[AlmanacError] = []
    if (problem := foreign_org_problem(spec, org, "spec.params.orgId", fix)) is not None:
        problems.append(problem)
    if policy.problem is not None and spec_topics(spec):
        problems.append(policy.problem)
    problems.extend(topic_problems(spec, policy.topics))
    return problems


async def template_problems(request: Mapping[str, Any], read: TemplateLookup) -> list[AlmanacError]:
    """The template must serve the namespace and accept the params: built-in or not
    (:func:`~almanac.core.admission.template_use_problems`, which ``almanac lint`` shares)."""
    spec = _spec(request)
    name = spec.get("template") if spec is not None else None
    if spec is None or not isinstance(name, str) or not name:
        return []
    namespace = str(request.get("namespace") or "")
    return template_use_problems(spec, namespace, await read(namespace, name))


async def priority_problems(
    request: Mapping[str, Any], exists: PriorityLookup
) -> list[AlmanacError]:
    """``spec.priority`` must name a PriorityClass that exists (``system-*`` ones are
    refused by the spec check itself); read only for a job that names one."""
    spec = _spec(request)
    name = spec.get("priority") if spec is not None else None
    if not isinstance(name, str) or not name or name.startswith("system-"):
        return []  # none named, or refused already by the spec check
    if await exists(name):
        return []
    return [missing_priority_class(name)]
