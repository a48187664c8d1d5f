"""The pod of a run: the template's container, Almanac's additions, the spec's overlay.

Three layers, in this order of precedence for what each may decide:

1. the template fixes the run container's image, command, args and pull settings;
2. Almanac adds what every run needs (its ``ALMANAC_*`` environment, a writable /tmp, the
   params' Secrets as files, the restricted security defaults, ``restartPolicy: Never``);
3. ``spec.podTemplate`` (:class:`~almanac.core.podtemplate.PodTemplate`) adds volumes,
   containers, placement and Job fields, and may override a security default, but never
   removes what layer 2 added (its volume and container names are reserved).

Pure, so every field's landing place is unit-tested without a cluster.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Final

from pydantic import BaseModel

from almanac.core.models import ScheduledJobSpec
from almanac.core.params import SECRETS_ROOT, find_secret_refs
from almanac.core.podsecurity import RESTRICTED_CONTAINER, RESTRICTED_POD, overlay_security
from almanac.core.podtemplate import RUN_CONTAINER, InitContainer, PodTemplate
from almanac.core.podvolumes import RESERVED_VOLUME_PREFIX
from almanac.core.templates import JobTemplateSpec

__all__ = ["DEFAULT_PULL_POLICY", "job_overlay", "run_pod_spec"]

#: What the run container's image pull policy is unless the template says: images loaded
#: into a node without a registry keep working.
DEFAULT_PULL_POLICY: Final = "IfNotPresent"
_TMP: Final = f"{RESERVED_VOLUME_PREFIX}tmp"


def _dump(value: BaseModel | None) -> dict[str, Any]:
    return value.model_dump(by_alias=True, exclude_none=True) if value is not None else {}


def _dumps(items: list[Any] | None) -> list[dict[str, Any]]:
    return [_dump(item) for item in items or ()]


def _secret_volumes(spec: ScheduledJobSpec) -> list[dict[str, Any]]:
    """One read-only volume per Secret that params reference: the executor reads
    ``SECRETS_ROOT/<secret>/<key>``, so secret values never appear in the spec or env."""
    keys: dict[str, set[str]] = {}
    for use in find_secret_refs(spec.params):
        keys.setdefault(use.name, set()).add(use.key)
    return [
        {
            "name": f"{RESERVED_VOLUME_PREFIX}secret-{index}",
            "secret": {
                "secretName": secret,
                "items": [{"key": key, "path": key} for key in sorted(wanted)],
                "defaultMode": 0o440,
                # A missing Secret must fail the run with the executor's message naming
                # it, not leave the pod in ContainerCreating until the deadline.
                "optional": True,
            },
        }
        for index, (secret, wanted) in enumerate(sorted(keys.items()))
    ]


def _run_container(
    template: JobTemplateSpec,
    pod: PodTemplate,
    env: list[dict[str, Any]],
    secrets: list[dict[str, Any]],
) -> dict[str, Any]:
    """The template's container with Almanac's mounts and the overlay's container fields."""
    container: dict[str, Any] = {
        "name": RUN_CONTAINER,
        "image": template.image,
        "imagePullPolicy": template.image_pull_policy or DEFAULT_PULL_POLICY,
        # Almanac's variables last: Kubernetes keeps the last of duplicate names.
        "env": _dumps(template.env) + _dumps(pod.env) + env,
        "securityContext": overlay_security(RESTRICTED_CONTAINER, pod.container_security_context),
        "terminationMessagePath": "/dev/termination-log",
        "terminationMessagePolicy": "FallbackToLogsOnError",
        "volumeMounts": [{"name": _TMP, "mountPath": "/tmp"}]
        + [
            {
                "name": v["name"],
                "mountPath": f"{SECRETS_ROOT}/{v['secret']['secretName']}",
                "readOnly": True,
            }
            for v in secrets
        ]
        + _dumps(pod.volume_mounts),
    }
    optional = {
        "command": list(template.command or ()),
        "args": list(template.args or ()),
        "envFrom": _dumps(pod.env_from),
        "resources": _dump(pod.resources),
        "workingDir": pod.working_dir,
    }
    container.update({key: value for key, value in optional.items() if value})
    return container


def _init_container(init: InitContainer) -> dict[str, Any]:
    """An init container or sidecar as written, with the restricted defaults under its own
    security context (the namespace's Pod Security level judges the whole pod)."""
    out = _dump(init)
    out["securityContext"] = overlay_security(RESTRICTED_CONTAINER, init.security_context)
    return out


def _pull_secrets(template: JobTemplateSpec, pod: PodTemplate) -> list[dict[str, str]]:
    """The template's pull Secrets, then the overlay's, each name once."""
    names = [s.name for s in template.image_pull_secrets or ()]
    names += [s.name for s in pod.image_pull_secrets or ()]
    return [{"name": name} for name in dict.fromkeys(names)]


def run_pod_spec(
    spec: ScheduledJobSpec, template: JobTemplateSpec, env: list[dict[str, Any]]
) -> dict[str, Any]:
    """The ``core/v1`` PodSpec of a run whose Almanac environment is ``env``.

    No service-account token unless ``podTemplate`` names an account (a run needs none to
    do its work, and a token is a power).
    """
    pod = spec.pod_template or PodTemplate()
    secrets = _secret_volumes(spec)
    pod_spec: dict[str, Any] = {
        "restartPolicy": "Never",
        "automountServiceAccountToken": bool(pod.service_account_name),
        "securityContext": overlay_security(RESTRICTED_POD, pod.security_context),
        "containers": [_run_container(template, pod, env, secrets)],
        "volumes": [
            {"name": _TMP, "emptyDir": {"sizeLimit": "64Mi"}},
            *secrets,
            *_dumps(pod.volumes),
        ],
    }
    overlay: dict[str, Any] = {
        "initContainers": [_init_container(c) for c in pod.init_containers or ()],
        "imagePullSecrets": _pull_secrets(template, pod),
        "serviceAccountName": pod.service_account_name,
        "nodeSelector": dict(pod.node_selector or {}),
        "tolerations": list(pod.tolerations or ()),
        "affinity": dict(pod.affinity or {}),
        "topologySpreadConstraints": list(pod.topology_spread_constraints or ()),
        "priorityClassName": spec.priority or pod.priority_class_name,
        "runtimeClassName": pod.runtime_class_name,
        "hostAliases": _dumps(pod.host_aliases),
        "dnsConfig": _dump(pod.dns_config),
    }
    pod_spec.update({key: value for key, value in overlay.items() if value})
    return pod_spec


def job_overlay(pod: PodTemplate | None) -> Mapping[str, Any]:
    """The Job fields ``podTemplate.job`` sets (``backoffLimit`` is not one of them:
    retries are Almanac's attempts, each a new Job)."""
    return _dump(pod.job) if pod is not None else {}
