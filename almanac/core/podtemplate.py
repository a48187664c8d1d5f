"""The ``spec.podTemplate`` part of a ScheduledJob: an overlay on every run pod and Job.

The template decides the run container's image and command; the ScheduledJob tunes the
pod around it with the core/v1 PodSpec fields a CronJob user relies on, under their PodSpec
names (a flat shape: pod fields at the top, the run container's ``volumeMounts``,
``workingDir`` and ``containerSecurityContext`` beside ``resources``/``env``, Job fields
under ``job``), so a CronJob's pod spec can be copied over. Each field that gives a run a
power its writer might lack is checked at admission (:mod:`almanac.core.powers`).
"""

from __future__ import annotations

from typing import Any, Final, Literal, Self

from pydantic import Field, field_validator, model_validator

from almanac.core.base import SpecModel
from almanac.core.podsecurity import ContainerSecurityContext, PodSecurityContext
from almanac.core.podvolumes import Volume, VolumeMount
from almanac.core.tracing import TRACEPARENT_VARIABLE

__all__ = [
    "RUN_CONTAINER",
    "ConfigMapKeySelector",
    "EnvFromSource",
    "EnvVar",
    "EnvVarSource",
    "HostAlias",
    "InitContainer",
    "JobSettings",
    "LocalObjectReference",
    "NameReference",
    "PodDNSConfig",
    "PodTemplate",
    "ResourceRequirements",
    "SecretKeySelector",
]

#: The run's own container in its pod (init containers and sidecars have other names).
RUN_CONTAINER: Final = "run"

_NAME = Field(min_length=1, max_length=253, description="Name of the referenced object.")


class SecretKeySelector(SpecModel):
    """A key of a Secret in the ScheduledJob's namespace."""

    name: str = _NAME
    key: str = Field(min_length=1, max_length=253, description="Key inside the Secret.")
    optional: bool | None = Field(None, description="Start the pod even if it is missing.")


class ConfigMapKeySelector(SpecModel):
    """A key of a ConfigMap in the ScheduledJob's namespace."""

    name: str = _NAME
    key: str = Field(min_length=1, max_length=253, description="Key inside the ConfigMap.")
    optional: bool | None = Field(None, description="Start the pod even if it is missing.")


#: Prefix of the variables Almanac sets in run pods (never settable through a spec).
RESERVED_ENV_PREFIX = "ALMANAC_"
#: The run's trace context (:mod:`almanac.core.tracing`), set by Almanac too.
RESERVED_ENV_NAMES = frozenset({TRACEPARENT_VARIABLE})


class EnvVarSource(SpecModel):
    """Where an environment variable's value comes from."""

    secret_key_ref: SecretKeySelector | None = Field(None, description="A Secret key.")
    config_map_key_ref: ConfigMapKeySelector | None = Field(None, description="A ConfigMap key.")


class EnvVar(SpecModel):
    """One environment variable of the run pod."""

    name: str = Field(
        min_length=1,
        max_length=253,
        description="Variable name; ALMANAC_* and TRACEPARENT are reserved.",
    )
    value: str | None = Field(None, description="Literal value.")
    value_from: EnvVarSource | None = Field(
        None, description="Value taken from a Secret/ConfigMap."
    )

    @field_validator("name")
    @classmethod
    def _not_reserved(cls, name: str) -> str:
        """Almanac's own variables (params, run identity, the HTTP allow-list) are set by
        the operator; letting a spec set them would let it widen its own SSRF guard."""
        if name.upper().startswith(RESERVED_ENV_PREFIX):
            raise ValueError(
                f"{name!r} is reserved: {RESERVED_ENV_PREFIX}* variables are set by Almanac; "
                "rename the variable"
            )
        if name.upper() in RESERVED_ENV_NAMES:
            raise ValueError(
                f"{name!r} is reserved: Almanac sets the run's trace context there; "
                "rename the variable (the run reads its trace from TRACEPARENT)"
            )
        return name


class LocalObjectReference(SpecModel):
    """A reference to a Secret or ConfigMap by name."""

    name: str = _NAME
    optional: bool | None = Field(None, description="Start the pod even if it is missing.")


class NameReference(SpecModel):
    """An object of the namespace, by name only (an image pull Secret)."""

    name: str = _NAME


class EnvFromSource(SpecModel):
    """Import every key of a Secret or ConfigMap as environment variables."""

    prefix: str | None = Field(None, max_length=253, description="Prefix added to each key.")
    secret_ref: LocalObjectReference | None = Field(None, description="Secret to import.")
    config_map_ref: LocalObjectReference | None = Field(None, description="ConfigMap to import.")


class ResourceRequirements(SpecModel):
    """CPU / memory requests and limits, as Kubernetes quantities (``500m``, ``1Gi``)."""

    requests: dict[str, int | str] | None = Field(None, description="Minimum resources.")
    limits: dict[str, int | str] | None = Field(None, description="Maximum resources.")


class InitContainer(SpecModel):
    """A container started before the run container: once to completion, or, with
    ``restartPolicy: Always``, as a sidecar that runs beside it and is stopped when it
    ends (Kubernetes 1.29+). It gets the restricted security defaults too."""

    name: str = Field(
        min_length=1,
        max_length=63,
        pattern=r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$",
        description=f"Container name (DNS label); {RUN_CONTAINER!r} is the run's own.",
    )
    image: str = Field(min_length=1, max_length=1024, description="Container image.")
    image_pull_policy: Literal["Always", "IfNotPresent", "Never"] | None = Field(
        None, description="When the kubelet pulls the image."
    )
    command: list[str] | None = Field(None, description="Entrypoint (argv).")
    args: list[str] | None = Field(None, description="Arguments; $(VAR) is expanded.")
    env: list[EnvVar] | None = Field(None, max_length=128, description="Environment.")
    env_from: list[EnvFromSource] | None = Field(
        None, max_length=32, description="Secrets/ConfigMaps imported as environment."
    )
    volume_mounts: list[VolumeMount] | None = Field(
        None, max_length=64, description="Volumes of the pod mounted here."
    )
    working_dir: str | None = Field(None, max_length=4096, description="Working directory.")
    resources: ResourceRequirements | None = Field(None, description="Requests and limits.")
    security_context: ContainerSecurityContext | None = Field(
        None, description="Overrides of the restricted defaults (namespace permitting)."
    )
    restart_policy: Literal["Always"] | None = Field(
        None, description="Always: a sidecar, running beside the run container."
    )

    @field_validator("name")
    @classmethod
    def _not_the_run(cls, name: str) -> str:
        if name == RUN_CONTAINER:
            raise ValueError(f"{RUN_CONTAINER!r} is the run container's name; rename it")
        return name


class HostAlias(SpecModel):
    """Extra ``/etc/hosts`` lines of the run pod."""

    ip: str = Field(min_length=1, max_length=45, description="IP address.")
    hostnames: list[str] = Field(min_length=1, max_length=16, description="Names for it.")


class PodDNSConfig(SpecModel):
    """DNS settings merged into the ones ``dnsPolicy`` gives the pod."""

    nameservers: list[str] | None = Field(None, max_length=3, description="Name servers.")
    searches: list[str] | None = Field(None, max_length=32, description="Search domains.")
    options: list[dict[str, str]] | None = Field(
        None, max_length=32, description="resolv.conf options ({name, value})."
    )


class JobSettings(SpecModel):
    """Fields of the run's ``batch/v1`` Job. A run succeeds when the Job completes; its
    retries stay Almanac's (``backoffLimit`` is always 0, see ``spec.retry``)."""

    parallelism: int | None = Field(None, ge=1, le=1000, description="Pods running at once.")
    completions: int | None = Field(None, ge=1, le=1000, description="Pods that must succeed.")
    completion_mode: Literal["NonIndexed", "Indexed"] | None = Field(
        None, description="Indexed: each pod gets JOB_COMPLETION_INDEX."
    )
    pod_failure_policy: dict[str, Any] | None = Field(
        None, description="Rules on pod failures (as in batch/v1), e.g. FailJob on exit 42."
    )
    ttl_seconds_after_finished: int | None = Field(
        None,
        ge=0,
        description="Delete the finished Job after this long (sooner than spec.history).",
    )


class PodTemplate(SpecModel):
    """Settings applied to every run pod (and its Job) of the ScheduledJob."""

    service_account_name: str | None = Field(
        None, max_length=253, description="Service account the run pod uses."
    )
    resources: ResourceRequirements | None = Field(
        None, description="Resources of the payload container."
    )
    env: list[EnvVar] | None = Field(
        None, max_length=128, description="Extra environment variables."
    )
    env_from: list[EnvFromSource] | None = Field(
        None, max_length=32, description="Secrets/ConfigMaps imported as environment."
    )
    volume_mounts: list[VolumeMount] | None = Field(
        None, max_length=64, description="Volumes mounted in the run container."
    )
    working_dir: str | None = Field(
        None, max_length=4096, description="Working directory of the run container."
    )
    container_security_context: ContainerSecurityContext | None = Field(
        None,
        description="Run container: overrides of the restricted defaults (namespace permitting).",
    )
    node_selector: dict[str, str] | None = Field(None, description="Node labels required.")
    tolerations: list[dict[str, Any]] | None = Field(
        None, max_length=32, description="Tolerations, as in the core/v1 Pod spec."
    )
    affinity: dict[str, Any] | None = Field(
        None, description="Node/pod (anti-)affinity, as in the core/v1 Pod spec."
    )
    topology_spread_constraints: list[dict[str, Any]] | None = Field(
        None, max_length=16, description="How run pods spread, as in the core/v1 Pod spec."
    )
    priority_class_name: str | None = Field(
        None, max_length=253, description="PriorityClass of the run pods."
    )
    runtime_class_name: str | None = Field(
        None, max_length=253, description="RuntimeClass (sandbox) of the run pods."
    )
    security_context: PodSecurityContext | None = Field(
        None, description="Pod: overrides of the restricted defaults (namespace permitting)."
    )
    image_pull_secrets: list[NameReference] | None = Field(
        None, max_length=16, description="Secrets for pulling images, added to the template's."
    )
    volumes: list[Volume] | None = Field(None, max_length=64, description="Volumes of the pod.")
    init_containers: list[InitContainer] | None = Field(
        None,
        max_length=16,
        description="Run in order before the run; restartPolicy Always makes a sidecar.",
    )
    host_aliases: list[HostAlias] | None = Field(
        None, max_length=32, description="Extra /etc/hosts entries."
    )
    dns_config: PodDNSConfig | None = Field(None, description="Extra DNS settings.")
    job: JobSettings | None = Field(None, description="Fields of the run's Job.")
    labels: dict[str, str] | None = Field(None, description="Extra labels on run pods.")
    annotations: dict[str, str] | None = Field(None, description="Extra annotations on run pods.")

    @model_validator(mode="after")
    def _mounts_name_volumes(self) -> Self:
        """A mount of a volume the pod lacks fails only when the Job is created: say so at
        apply, naming the container."""
        declared = {v.name for v in self.volumes or ()}
        mounts = [(RUN_CONTAINER, m.name) for m in self.volume_mounts or ()] + [
            (c.name, m.name) for c in self.init_containers or () for m in c.volume_mounts or ()
        ]
        for container, volume in mounts:
            if volume not in declared:
                raise ValueError(
                    f"container {container!r} mounts volume {volume!r}, which volumes does "
                    "not declare; add it to volumes or fix the name"
                )
        names = [c.name for c in self.init_containers or ()]
        if len(names) != len(set(names)):
            raise ValueError("initContainers names must be unique")
        return self
