"""The ``spec.podTemplate`` part of a ScheduledJob: what a run pod may be given.

Deliberately a small structural subset of the core/v1 Pod spec (resources, service account,
environment, secret references, placement): the template decides image and command, the
ScheduledJob only tunes the pod. Names mirror the Kubernetes ones so users can copy them.
"""

from __future__ import annotations

from typing import Any

from pydantic import Field, field_validator

from almanac.core.base import SpecModel

__all__ = [
    "ConfigMapKeySelector",
    "EnvFromSource",
    "EnvVar",
    "EnvVarSource",
    "LocalObjectReference",
    "PodTemplate",
    "ResourceRequirements",
    "SecretKeySelector",
]

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


class EnvVarSource(SpecModel):
    """Where an environment variable's value comes from."""

    secret_key_ref: SecretKeySelector | None = Field(None, description="A Secret key.")
    config_map_key_ref: ConfigMapKeySelector | None = Field(None, description="A ConfigMap key.")


class EnvVar(SpecModel):
    """One environment variable of the run pod."""

    name: str = Field(
        min_length=1, max_length=253, description="Variable name; ALMANAC_* are reserved."
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
        return name


class LocalObjectReference(SpecModel):
    """A reference to a Secret or ConfigMap by name."""

    name: str = _NAME
    optional: bool | None = Field(None, description="Start the pod even if it is missing.")


class EnvFromSource(SpecModel):
    """Import every key of a Secret or ConfigMap as environment variables."""

    prefix: str | None = Field(None, max_length=253, description="Prefix added to each key.")
    secret_ref: LocalObjectReference | None = Field(None, description="Secret to import.")
    config_map_ref: LocalObjectReference | None = Field(None, description="ConfigMap to import.")


class ResourceRequirements(SpecModel):
    """CPU / memory requests and limits, as Kubernetes quantities (``500m``, ``1Gi``)."""

    requests: dict[str, int | str] | None = Field(None, description="Minimum resources.")
    limits: dict[str, int | str] | None = Field(None, description="Maximum resources.")


class PodTemplate(SpecModel):
    """Pod-level settings applied to every run pod of the ScheduledJob."""

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
    node_selector: dict[str, str] | None = Field(None, description="Node labels required.")
    tolerations: list[dict[str, Any]] | None = Field(
        None, max_length=32, description="Tolerations, as in the core/v1 Pod spec."
    )
    labels: dict[str, str] | None = Field(None, description="Extra labels on run pods.")
    annotations: dict[str, str] | None = Field(None, description="Extra annotations on run pods.")
