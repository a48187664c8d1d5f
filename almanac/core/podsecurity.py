"""Security contexts of run pods: restricted by default, overridable field by field.

Every run pod starts from the *restricted* Pod Security Standard (non-root user 10001, no
privilege escalation, all capabilities dropped, RuntimeDefault seccomp, read-only root
file system), so a run is admitted in any namespace. ``spec.podTemplate.securityContext``
and ``containerSecurityContext`` replace only the fields they set; whatever they loosen is
then judged by the API server's Pod Security admission for the namespace (a Job whose pods
that level refuses never gets a pod: its events say ``FailedCreate`` and the run ends at
its deadline). Almanac widens nothing on its own.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Final

from pydantic import BaseModel, Field

from almanac.core.base import SpecModel

__all__ = [
    "RESTRICTED_CONTAINER",
    "RESTRICTED_POD",
    "RUN_USER",
    "Capabilities",
    "ContainerSecurityContext",
    "PodSecurityContext",
    "SeccompProfile",
    "overlay_security",
]

#: The uid and gid run containers use unless a security context says otherwise.
RUN_USER: Final = 10001

RESTRICTED_CONTAINER: Final[Mapping[str, Any]] = {
    "runAsNonRoot": True,
    "runAsUser": RUN_USER,
    "runAsGroup": RUN_USER,
    "readOnlyRootFilesystem": True,
    "allowPrivilegeEscalation": False,
    "capabilities": {"drop": ["ALL"]},
    "seccompProfile": {"type": "RuntimeDefault"},
}

RESTRICTED_POD: Final[Mapping[str, Any]] = {
    "runAsNonRoot": True,
    "runAsUser": RUN_USER,
    "runAsGroup": RUN_USER,
    "fsGroup": RUN_USER,  # Secret files (mode 0440) readable by the run user
    "seccompProfile": {"type": "RuntimeDefault"},
}


class SeccompProfile(SpecModel):
    """The seccomp filter (``RuntimeDefault`` is what the restricted level asks for)."""

    type: str = Field(max_length=32, description="RuntimeDefault, Localhost or Unconfined.")
    localhost_profile: str | None = Field(None, max_length=4096, description="Localhost only.")


class Capabilities(SpecModel):
    """Linux capabilities added to / dropped from the container's default set."""

    add: list[str] | None = Field(None, max_length=64, description="Capabilities added.")
    drop: list[str] | None = Field(None, max_length=64, description="Capabilities dropped.")


class PodSecurityContext(SpecModel):
    """Pod-wide security settings, each replacing Almanac's restricted default."""

    run_as_user: int | None = Field(None, ge=0, description="UID of the processes.")
    run_as_group: int | None = Field(None, ge=0, description="Primary GID of the processes.")
    run_as_non_root: bool | None = Field(None, description="Refuse to start as uid 0.")
    fs_group: int | None = Field(None, ge=0, description="GID owning mounted volumes.")
    fs_group_change_policy: str | None = Field(
        None, max_length=32, description="OnRootMismatch or Always."
    )
    supplemental_groups: list[int] | None = Field(
        None, max_length=32, description="Extra GIDs of the processes."
    )
    seccomp_profile: SeccompProfile | None = Field(None, description="Seccomp filter.")
    se_linux_options: dict[str, str] | None = Field(
        None, alias="seLinuxOptions", description="SELinux labels, as in core/v1."
    )
    sysctls: list[dict[str, str]] | None = Field(
        None, max_length=32, description="Namespaced sysctls ({name, value})."
    )


class ContainerSecurityContext(SpecModel):
    """Security settings of one container, each replacing Almanac's restricted default."""

    run_as_user: int | None = Field(None, ge=0, description="UID of the process.")
    run_as_group: int | None = Field(None, ge=0, description="Primary GID of the process.")
    run_as_non_root: bool | None = Field(None, description="Refuse to start as uid 0.")
    read_only_root_filesystem: bool | None = Field(
        None, description="Read-only image file system (default true: write to /tmp)."
    )
    allow_privilege_escalation: bool | None = Field(None, description="setuid and the like.")
    privileged: bool | None = Field(None, description="Full host access (namespace permitting).")
    capabilities: Capabilities | None = Field(None, description="Capabilities added/dropped.")
    seccomp_profile: SeccompProfile | None = Field(None, description="Seccomp filter.")
    se_linux_options: dict[str, str] | None = Field(
        None, alias="seLinuxOptions", description="SELinux labels, as in core/v1."
    )


def overlay_security(defaults: Mapping[str, Any], given: BaseModel | None) -> dict[str, Any]:
    """``defaults`` with each field ``given`` sets replaced (whole values: a
    ``capabilities`` given replaces the default's ``drop: [ALL]``, as a pod spec would)."""
    out = dict(defaults)
    if given is not None:
        out.update(given.model_dump(by_alias=True, exclude_none=True))
    return out
