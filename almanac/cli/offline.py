"""``almanac lint`` and ``almanac render``: the webhook's check and the operator's Job,
without a cluster (a cluster only where asked: ``--cluster``, ``render JOB``).

``lint`` runs :mod:`almanac.core.admission`, the functions the webhook runs, so a manifest
it passes is one ``kubectl apply`` accepts, with these limits offline (docs/cli.md): the
namespace's policy (an export's organisation, the Kafka topic allow-list), the writer's
RBAC for the run powers a job adds, ``after`` cycles through jobs not in the files, and
templates neither in the files, in ``--templates`` nor built in (``--cluster`` reads them).
``render`` prints :func:`almanac.core.runs.build_job`'s Job, the one the operator creates.
"""

from __future__ import annotations

import argparse
import sys
from collections import defaultdict
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, Final

from almanac.cli.errors import report
from almanac.cli.inputs import parse_instant
from almanac.cli.manifests import Manifest, TemplateSet, builtin_rules, read_manifests
from almanac.cli.tables import dump
from almanac.core.admission import (
    Problems,
    TemplateRules,
    chain_problems,
    rules_of,
    spec_problems,
    template_use_problems,
    upstreams,
)
from almanac.core.errors import InvalidInputError, InvalidSpecError
from almanac.core.models import ScheduledJobSpec
from almanac.core.plan import compile_spec, slots_due
from almanac.core.resource import parse_spec, validate_model
from almanac.core.runs import (
    BUILTIN_TEMPLATES,
    RunRequest,
    build_job,
    builtin_template,
)
from almanac.core.status import TriggerKind
from almanac.core.templates import JobTemplateSpec
from almanac.core.vocabulary import GROUP
from almanac.templates import builtin_params_schema

if TYPE_CHECKING:  # the cluster is optional here: lint runs on a bare install
    from almanac.cli.kube import Cluster

__all__ = ["lint_files", "lint_manifests", "render_job"]

#: The uid a manifest not yet applied is rendered with (its run names change once applied).
PLACEHOLDER_UID: Final = "00000000-0000-0000-0000-000000000000"


async def lint_manifests(
    manifests: Sequence[Manifest],
    default_namespace: str,
    templates: TemplateSet,
    cluster: Cluster | None = None,
) -> list[tuple[Manifest, Problems]]:
    """Each Almanac manifest's problems, as admission would find them (pure but for the
    cluster's templates when ``cluster`` is given)."""
    chains: dict[str, dict[str, list[str]]] = defaultdict(dict)
    for m in manifests:
        if (m.group, m.kind) == (GROUP, "ScheduledJob"):
            chains[m.namespace(default_namespace)][m.name] = upstreams(m.body.get("spec"))
    out = []
    for m in manifests:
        spec = m.body.get("spec")
        problems = spec_problems(m.group, m.kind, spec)
        if problems is None:
            continue  # not Almanac's: kubectl's own validation judges it
        if not problems and m.kind == "ScheduledJob" and isinstance(spec, dict):
            namespace = m.namespace(default_namespace)
            rules = await _rules(templates, cluster, namespace, spec.get("template"))
            problems = template_use_problems(spec, namespace, rules)
            others = {k: v for k, v in chains[namespace].items() if k != m.name}
            problems = problems or chain_problems(m.name, spec, others)
        out.append((m, problems))
    return out


async def _rules(
    templates: TemplateSet, cluster: Cluster | None, namespace: str, name: Any
) -> TemplateRules | None:
    if not isinstance(name, str):
        return None
    found = templates.rules(namespace, name, builtin=cluster is None)
    if found is None and cluster is not None:
        found = rules_of(*(await cluster.template(name, namespace))) or builtin_rules(name)
    return found


async def lint_files(args: argparse.Namespace) -> int:
    manifests = read_manifests(args.files)
    namespace = args.namespace or "default"
    templates = TemplateSet.of(
        [*read_manifests(args.templates, "--templates"), *manifests], namespace
    )
    if args.cluster:
        from almanac.cli.kube import connected  # noqa: PLC0415

        async with connected(args) as cluster:
            results = await lint_manifests(manifests, cluster.namespace, templates, cluster)
    else:
        results = await lint_manifests(manifests, namespace, templates)
    refused = 0
    for manifest, problems in results:
        for problem in problems:
            where = f"{problem.field}: " if problem.field else ""
            print(f"{manifest.label}: {where}{problem.message}", file=sys.stderr)
        refused += bool(problems)
    print(f"{len(results) - refused} of {len(results)} Almanac manifest(s) pass", file=sys.stderr)
    return 2 if refused else 0


async def _template(
    args: argparse.Namespace, obj: dict[str, Any], namespace: str, cluster: Cluster | None
) -> JobTemplateSpec:
    name = str((obj.get("spec") or {}).get("template") or "")
    local = TemplateSet.of(read_manifests(args.templates, "--templates"), namespace)
    spec = local.spec(namespace, name)
    if spec is None and cluster is not None:
        own, shared = await cluster.template(name, namespace)
        spec = own if own is not None else shared
    if spec is not None:
        return validate_model(JobTemplateSpec, dict(spec), "template")
    if name in BUILTIN_TEMPLATES:
        return builtin_template(name, args.image, builtin_params_schema(name))
    raise InvalidInputError(
        f"no JobTemplate or ClusterJobTemplate named {name!r} found; pass --templates DIR",
        "spec.template",
    )


def _run_of(spec: ScheduledJobSpec, slot_text: str | None) -> RunRequest:
    """The run to render: at ``--slot``, else the next slot, else (no schedule) now, as
    a run-now."""
    now = datetime.now(UTC).replace(microsecond=0)
    if slot_text:
        return RunRequest(parse_instant(slot_text, "--slot"), TriggerKind.SCHEDULE)
    compiled = compile_spec(spec)
    upcoming = slots_due(compiled, now, now.replace(year=now.year + 5), 1) if compiled else []
    if upcoming:
        return RunRequest(upcoming[0], TriggerKind.SCHEDULE)
    return RunRequest(now, TriggerKind.MANUAL, run_now_key="render")


async def render_job(args: argparse.Namespace) -> int:
    if bool(args.name) == bool(args.files):
        raise InvalidInputError("name a ScheduledJob in the cluster or give -f FILE", "JOB")
    if args.files:
        found = [
            m for m in read_manifests(args.files) if (m.group, m.kind) == (GROUP, "ScheduledJob")
        ]
        if not found:
            raise InvalidInputError("holds no ScheduledJob", "-f")
        obj = dict(found[0].body)
        namespace = found[0].namespace(args.namespace or "default")
        template = await _template(args, obj, namespace, None)
    else:
        from almanac.cli.kube import connected  # noqa: PLC0415

        async with connected(args) as cluster:
            obj = await cluster.scheduled_job(args.name)
            namespace = cluster.namespace
            template = await _template(args, obj, namespace, cluster)
    meta = obj.get("metadata") or {}
    try:  # the spec only: a stored object's status is the operator's, not ours to judge
        spec = parse_spec(obj.get("spec") or {})
    except InvalidSpecError as exc:
        return report(exc)
    body = build_job(
        name=str(meta.get("name") or ""),
        namespace=namespace,
        uid=str(meta.get("uid") or PLACEHOLDER_UID),
        spec=spec,
        run=_run_of(spec, args.slot),
        template=template,
    )
    sys.stdout.write(dump(body, args.output))
    print("# the operator adds its own environment (Kafka, topics) at launch", file=sys.stderr)
    return 0
