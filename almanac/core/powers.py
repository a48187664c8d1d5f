"""What a ScheduledJob makes the operator do for its writer, as permissions to check. Pure.

The operator creates run pods with its own rights, so without a check it is a confused
deputy: a user allowed only to write ScheduledJobs would get pods that mount any Secret of
the namespace (a ``secretKeyRef`` in params or the pod template) or run as any
ServiceAccount with any toleration. Admission therefore asks the API server, for the
writer (a SubjectAccessReview), whether they could do each such thing themselves:

* every Secret a run would read (params ``{"secretKeyRef": ...}``, ``env``
  ``valueFrom.secretKeyRef`` and ``envFrom.secretRef`` of the run or an init container,
  a ``secret`` or projected volume, ``imagePullSecrets``), and every Secret a webhook
  notification reads (``urlFrom``, ``secretHeader``): ``get`` that Secret;
* every ConfigMap or PersistentVolumeClaim a volume mounts: ``get`` that object;
* a ServiceAccount, placement, security context, priority or runtime class, init
  containers and sidecars, host aliases or DNS settings in the pod template (who the pod
  runs as, where, with what, and whom it reaches): ``create`` pods in the namespace, what
  the same pod made by hand needs.

``hostPath`` volumes are refused by the model itself (:mod:`almanac.core.podvolumes`):
no RBAC answer says a writer may reach the node's files.

Only powers the change adds are checked (:func:`added_powers`): a writer who changes the
schedule of a job someone else gave a Secret is not refused for that Secret.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Final

from pydantic.alias_generators import to_snake

from almanac.core.models import ScheduledJobSpec
from almanac.core.params import find_secret_refs
from almanac.core.podtemplate import EnvFromSource, EnvVar
from almanac.core.podvolumes import Volume

__all__ = ["Power", "added_powers", "powers_of"]

POD_TEMPLATE: Final = "spec.podTemplate"

#: podTemplate fields that decide who the pod runs as, where, with which privileges or
#: with which containers: a run may use them only if its writer could create that pod by
#: hand (``create pods``; Pod Security admission then judges the pod as for anyone).
#: ``priorityClassName`` and ``runtimeClassName`` have no RBAC verb of their own (pods
#: name them freely; quotas scope them), so creating pods is the permission that matches;
#: ``hostAliases`` and ``dnsConfig`` can point an allowed host name at another address.
_AS_IF_CREATING_PODS: Final = (
    "serviceAccountName",
    "nodeSelector",
    "tolerations",
    "affinity",
    "topologySpreadConstraints",
    "priorityClassName",
    "runtimeClassName",
    "securityContext",
    "containerSecurityContext",
    "initContainers",
    "hostAliases",
    "dnsConfig",
)


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
    found += _notification_powers(spec)
    pod = spec.pod_template
    if pod is not None:
        found += _env_powers(POD_TEMPLATE, pod.env, pod.env_from)
        for i, init in enumerate(pod.init_containers or ()):
            found += _env_powers(f"{POD_TEMPLATE}.initContainers[{i}]", init.env, init.env_from)
        for i, volume in enumerate(pod.volumes or ()):
            found += _volume_powers(f"{POD_TEMPLATE}.volumes[{i}]", volume)
        found += [
            Power("get", "secrets", ref.name, f"{POD_TEMPLATE}.imagePullSecrets[{i}]")
            for i, ref in enumerate(pod.image_pull_secrets or ())
        ]
        found += [
            Power("create", "pods", None, f"{POD_TEMPLATE}.{key}")
            for key in _AS_IF_CREATING_PODS
            if getattr(pod, to_snake(key))
        ]
    return sorted(found)


def _notification_powers(spec: ScheduledJobSpec) -> list[Power]:
    """``get`` on each Secret a webhook notification reads (its URL, its secret header):
    the operator reads them with its own rights at every send."""
    found = []
    for i, entry in enumerate(spec.notifications or ()):
        hook = entry.webhook
        base = f"spec.notifications[{i}].webhook"
        if hook is not None and hook.url_from is not None:
            found.append(Power("get", "secrets", hook.url_from.name, f"{base}.urlFrom"))
        if hook is not None and hook.secret_header is not None:
            name = hook.secret_header.secret_key_ref.name
            found.append(Power("get", "secrets", name, f"{base}.secretHeader.secretKeyRef"))
    return found


def _env_powers(
    base: str, env: Sequence[EnvVar] | None, env_from: Sequence[EnvFromSource] | None
) -> list[Power]:
    """``get`` on each Secret a container's environment reads."""
    found = []
    for i, var in enumerate(env or ()):
        ref = var.value_from.secret_key_ref if var.value_from else None
        if ref is not None:
            found.append(
                Power("get", "secrets", ref.name, f"{base}.env[{i}].valueFrom.secretKeyRef")
            )
    for i, source in enumerate(env_from or ()):
        if source.secret_ref is not None:
            field = f"{base}.envFrom[{i}].secretRef"
            found.append(Power("get", "secrets", source.secret_ref.name, field))
    return found


def _volume_powers(base: str, volume: Volume) -> list[Power]:
    """``get`` on each object a volume mounts; a projected token as if creating pods."""
    found = []
    if volume.secret is not None:
        found.append(Power("get", "secrets", volume.secret.secret_name, f"{base}.secret"))
    if volume.config_map is not None:
        found.append(Power("get", "configmaps", volume.config_map.name, f"{base}.configMap"))
    if volume.persistent_volume_claim is not None:
        claim = volume.persistent_volume_claim.claim_name
        found.append(Power("get", "persistentvolumeclaims", claim, f"{base}.persistentVolumeClaim"))
    sources = volume.projected.sources if volume.projected is not None else ()
    for i, source in enumerate(sources):
        field = f"{base}.projected.sources[{i}]"
        if source.secret is not None:
            found.append(Power("get", "secrets", source.secret.name, f"{field}.secret"))
        if source.config_map is not None:
            found.append(Power("get", "configmaps", source.config_map.name, f"{field}.configMap"))
        if source.service_account_token is not None:
            found.append(Power("create", "pods", None, f"{field}.serviceAccountToken"))
    return found


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
