"""Volumes a ScheduledJob may give its run pods, and where containers mount them.

A deliberately closed subset of the core/v1 volume sources: the ones a CronJob user relies
on (Secret, ConfigMap, PersistentVolumeClaim, emptyDir, downward API, projected) and whose
use admission can check for the writer (:mod:`almanac.core.powers`: ``get`` on the object
mounted). Node-level sources are refused here, ``hostPath`` with its own message: a host
path is a way out of the pod that no RBAC verb expresses, so the operator must never
create one on a writer's behalf. Names mirror Kubernetes so specs can be copied.
"""

from __future__ import annotations

from typing import Any, Final, Self

from pydantic import Field, field_validator, model_validator

from almanac.core.base import ObjectName, SpecModel

__all__ = [
    "RESERVED_VOLUME_PREFIX",
    "ConfigMapProjection",
    "ConfigMapVolumeSource",
    "EmptyDirVolumeSource",
    "KeyToPath",
    "PersistentVolumeClaimVolumeSource",
    "ProjectedVolumeSource",
    "SecretProjection",
    "SecretVolumeSource",
    "Volume",
    "VolumeMount",
    "VolumeProjection",
]

#: Prefix of the volumes Almanac adds to run pods (its /tmp, the params' Secrets).
RESERVED_VOLUME_PREFIX: Final = "almanac-"

_VOLUME_NAME = Field(
    min_length=1,
    max_length=63,
    pattern=r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$",
    description="Volume name (DNS label); almanac-* names are Almanac's own.",
)


class KeyToPath(SpecModel):
    """One key of a Secret or ConfigMap, projected to a relative file path."""

    key: str = Field(min_length=1, max_length=253, description="Key in the object.")
    path: str = Field(min_length=1, max_length=4096, description="Relative file path.")
    mode: int | None = Field(None, ge=0, le=0o777, description="File mode bits (octal 0-0777).")


class SecretVolumeSource(SpecModel):
    """A Secret of the ScheduledJob's namespace as files (the writer needs ``get`` on it)."""

    secret_name: ObjectName = Field(description="Name of the Secret.")
    items: list[KeyToPath] | None = Field(None, description="Keys to project (default: all).")
    default_mode: int | None = Field(None, ge=0, le=0o777, description="Mode of the files.")
    optional: bool | None = Field(None, description="Start the pod even if it is missing.")


class ConfigMapVolumeSource(SpecModel):
    """A ConfigMap of the namespace as files (the writer needs ``get`` on it)."""

    name: ObjectName = Field(description="Name of the ConfigMap.")
    items: list[KeyToPath] | None = Field(None, description="Keys to project (default: all).")
    default_mode: int | None = Field(None, ge=0, le=0o777, description="Mode of the files.")
    optional: bool | None = Field(None, description="Start the pod even if it is missing.")


class PersistentVolumeClaimVolumeSource(SpecModel):
    """A PersistentVolumeClaim of the namespace (the writer needs ``get`` on it)."""

    claim_name: ObjectName = Field(description="Name of the PersistentVolumeClaim.")
    read_only: bool | None = Field(None, description="Mount the claim read-only.")


class EmptyDirVolumeSource(SpecModel):
    """Scratch space that lives as long as the pod."""

    medium: str | None = Field(None, max_length=16, description='"" (node disk) or "Memory".')
    size_limit: int | str | None = Field(None, description="Quantity, such as 1Gi.")


class SecretProjection(SpecModel):
    """A Secret inside a projected volume."""

    name: ObjectName = Field(description="Name of the Secret.")
    items: list[KeyToPath] | None = Field(None, description="Keys to project (default: all).")
    optional: bool | None = Field(None, description="Start the pod even if it is missing.")


class ConfigMapProjection(SpecModel):
    """A ConfigMap inside a projected volume."""

    name: ObjectName = Field(description="Name of the ConfigMap.")
    items: list[KeyToPath] | None = Field(None, description="Keys to project (default: all).")
    optional: bool | None = Field(None, description="Start the pod even if it is missing.")


class VolumeProjection(SpecModel):
    """One source of a projected volume (exactly one field set)."""

    secret: SecretProjection | None = Field(None, description="Files from a Secret.")
    config_map: ConfigMapProjection | None = Field(None, description="Files from a ConfigMap.")
    downward_api: dict[str, Any] | None = Field(
        None, alias="downwardAPI", description="Pod fields as files, as in core/v1."
    )
    service_account_token: dict[str, Any] | None = Field(
        None, description="A token of the pod's ServiceAccount, as in core/v1."
    )


class ProjectedVolumeSource(SpecModel):
    """Several sources merged into one directory."""

    sources: list[VolumeProjection] = Field(max_length=32, description="The sources merged.")
    default_mode: int | None = Field(None, ge=0, le=0o777, description="Mode of the files.")


_NO_HOST_PATH: Final = (
    "a run pod may not reach the node's files; use a persistentVolumeClaim "
    "(its PersistentVolume may be hostPath-backed)"
)
_SOURCES: Final = (
    "secret",
    "config_map",
    "persistent_volume_claim",
    "empty_dir",
    "downward_api",
    "projected",
)


class Volume(SpecModel):
    """A volume of the run pod: its name and exactly one source."""

    name: str = _VOLUME_NAME
    secret: SecretVolumeSource | None = Field(None, description="A Secret as files.")
    config_map: ConfigMapVolumeSource | None = Field(None, description="A ConfigMap as files.")
    persistent_volume_claim: PersistentVolumeClaimVolumeSource | None = Field(
        None, description="A PersistentVolumeClaim of the namespace."
    )
    empty_dir: EmptyDirVolumeSource | None = Field(None, description="Per-pod scratch space.")
    downward_api: dict[str, Any] | None = Field(
        None, alias="downwardAPI", description="Pod fields as files, as in core/v1."
    )
    projected: ProjectedVolumeSource | None = Field(
        None, description="Secrets, ConfigMaps, pod fields and tokens in one directory."
    )
    host_path: dict[str, Any] | None = Field(
        None,
        description=f"Refused: {_NO_HOST_PATH}.",
        json_schema_extra={
            "x-kubernetes-validations": [{"rule": "false", "message": _NO_HOST_PATH}]
        },
    )

    @field_validator("name")
    @classmethod
    def _not_reserved(cls, name: str) -> str:
        if name.startswith(RESERVED_VOLUME_PREFIX):
            raise ValueError(
                f"{name!r} is reserved: {RESERVED_VOLUME_PREFIX}* volumes are Almanac's; rename it"
            )
        return name

    @model_validator(mode="after")
    def _one_source(self) -> Self:
        if self.host_path is not None:
            raise ValueError(f"hostPath volumes are refused: {_NO_HOST_PATH}")
        chosen = [s for s in _SOURCES if getattr(self, s) is not None]
        if len(chosen) != 1:
            raise ValueError(
                f"volume {self.name!r} needs exactly one source (secret, configMap, "
                "persistentVolumeClaim, emptyDir, downwardAPI or projected)"
            )
        return self


class VolumeMount(SpecModel):
    """Where a container sees one of the pod's volumes."""

    name: str = Field(min_length=1, max_length=63, description="Name of a volume of the pod.")
    mount_path: str = Field(
        min_length=1, max_length=4096, pattern=r"^/", description="Absolute path in the container."
    )
    sub_path: str | None = Field(None, max_length=4096, description="Path inside the volume.")
    read_only: bool | None = Field(None, description="Mount read-only.")
