"""What the facade checks against the caller's namespace (and the cluster) before it
writes a job.

The facade's ScheduledJob writes skip the admission webhook (it runs the webhook's checks
itself, :mod:`almanac.core.specs`), so it must also apply the rules that need reads: the
template's params schema (the catalog), an export's organisation (the caller's, never one
the payload names: :mod:`almanac.core.orgs`) and the namespace's Kafka topic allow-list
(:mod:`almanac.core.topicpolicy`), and that the job's ``priority`` names a PriorityClass
that exists. The same core functions decide as in the webhook.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from almanac.api.catalog import Catalog
from almanac.api.errors import BadRequestError, bad_request_from
from almanac.api.kube import KubeFacade
from almanac.core.admission import missing_priority_class
from almanac.core.errors import InvalidInputError, InvalidSpecError
from almanac.core.orgs import foreign_org_problem
from almanac.core.topicpolicy import spec_topics, topic_problems

__all__ = ["check_against_namespace", "refuse_foreign_org"]


def refuse_foreign_org(spec: Mapping[str, Any], org_id: str) -> None:
    """An export runs as the caller's organisation: ``payload.orgId`` naming another one
    would export that organisation's data through the Export Service."""
    problem = foreign_org_problem(spec, org_id, "payload.orgId", "leave payload.orgId out")
    if problem is not None:
        raise BadRequestError(problem.message, problem.field)


async def check_against_namespace(
    kube: KubeFacade,
    catalog: Catalog,
    namespace: str,
    spec: Mapping[str, Any],
    org_id: str,
) -> None:
    """Refuse (400, naming the field) what the namespace does not allow ``spec``."""
    refuse_foreign_org(spec, org_id)
    await catalog.check_payload(namespace, spec)
    priority = spec.get("priority")
    if isinstance(priority, str) and priority and not await kube.priority_class_exists(priority):
        raise bad_request_from(missing_priority_class(priority))
    if not spec_topics(spec):
        return
    policy = await kube.namespace_policy(namespace)
    problems: list[InvalidInputError] = topic_problems(spec, policy.topics)
    if policy.problem is not None:
        problems.append(policy.problem)
    if problems:
        raise bad_request_from(InvalidSpecError(problems))
