"""What a ScheduledJob makes the operator do for its writer, as permissions to check. Pure.

The operator creates run pods with its own rights, so without a check it is a confused
deputy: a user allowed only to write ScheduledJobs would get pods that mount any Secret of
the namespace (a ``secretKeyRef`` in params or the pod template) or run as any
ServiceAccount with any toleration. Admission therefore asks the API server, for the
writer (a SubjectAccessReview), whether they could do each such thing themselves:

* every Secret a run would read (params ``{"secretKeyRef": ...}``, pod template ``env``
  ``valueFrom.secretKeyRef`` and ``envFrom.secretRef``): ``get`` that Secret;
* a ServiceAccount, node selector or tolerations in the pod template (who the pod runs as
  and where): ``create`` pods in the namespace, what the same pod made by hand needs.

Only powers the change adds are checked (:func:`added_powers`): a writer who changes the
schedule of a job someone else gave a Secret is not refused for that Secret.
"""

from __future__ import annotations

from dataclasses import dataclass

from almanac.core.models import ScheduledJobSpec
from almanac.core.params import find_secret_refs

__all__ = ["Power", "added_powers", "powers_of"]


@dataclass(frozen=True, order=True)
class Power:
    """One permission a run of the job uses: ``verb`` on ``resource`` (named, or any)."""

    verb: str
    resource: str
    name: str | None
    field: str

    def describe(self, namespace: str) -> str:
        """``get secrets "db" in namespace "org-a"`` (for the refusal message)."""
        target = f"{self.resource} {self.name!r}" if self.name else self.resource
        return f"{self.verb} {target} in namespace {namespace!r}"


def powers_of(spec: ScheduledJobSpec) -> list[Power]:
    """Every permission a run of ``spec`` would use on its writer's behalf, sorted."""
    found = [Power("get", "secrets", use.name, use.field) for use in find_secret_refs(spec.params)]
    pod = spec.pod_template
    if pod is not None:
        base = "spec.podTemplate"
        for i, var in enumerate(pod.env or ()):
            ref = var.value_from.secret_key_ref if var.value_from else None
            if ref is not None:
                field = f"{base}.env[{i}].valueFrom.secretKeyRef"
                found.append(Power("get", "secrets", ref.name, field))
        for i, source in enumerate(pod.env_from or ()):
            if source.secret_ref is not None:
                field = f"{base}.envFrom[{i}].secretRef"
                found.append(Power("get", "secrets", source.secret_ref.name, field))
        placement = {
            "serviceAccountName": pod.service_account_name,
            "nodeSelector": pod.node_selector,
            "tolerations": pod.tolerations,
        }
        found += [
            Power("create", "pods", None, f"{base}.{key}")
            for key, value in placement.items()
            if value
        ]
    return sorted(found)


def added_powers(new: ScheduledJobSpec, old: ScheduledJobSpec | None) -> list[Power]:
    """The powers of ``new`` that ``old`` did not have (by verb, resource and name; the
    field is only where it is written), each permission once."""
    had = {(p.verb, p.resource, p.name) for p in powers_of(old)} if old is not None else set()
    added: dict[tuple[str, str, str | None], Power] = {}
    for power in powers_of(new):
        key = (power.verb, power.resource, power.name)
        if key not in had:
            added.setdefault(key, power)
    return list(added.values())
