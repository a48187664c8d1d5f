"""``JobTemplate`` (namespaced) and ``ClusterJobTemplate``: what a run executes.

A ScheduledJob names a template; the template fixes image and command and publishes the
JSON Schema its ``params`` must satisfy, so bad params are refused at admission instead of
failing inside a pod.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field

from almanac.core.base import Duration, SpecModel
from almanac.core.podtemplate import EnvVar, NameReference

__all__ = ["JobTemplateSpec"]


class JobTemplateSpec(SpecModel):
    """Spec shared by JobTemplate and ClusterJobTemplate."""

    description: str | None = Field(None, max_length=1024, description="What it does.")
    image: str = Field(min_length=1, max_length=1024, description="Container image of the run.")
    image_pull_policy: Literal["Always", "IfNotPresent", "Never"] | None = Field(
        None, description="When the kubelet pulls the image (default IfNotPresent)."
    )
    image_pull_secrets: list[NameReference] | None = Field(
        None,
        max_length=16,
        description="Secrets for a private registry; each must exist in the run's namespace.",
    )
    command: list[str] | None = Field(None, description="Entrypoint (argv), as in a Pod.")
    args: list[str] | None = Field(
        None, description="Arguments, as in a Pod: $(ALMANAC_SLOT) and other $(VAR) expand."
    )
    env: list[EnvVar] | None = Field(
        None, max_length=128, description="Environment given to every run."
    )
    params_schema: dict[str, Any] | None = Field(
        None, description="JSON Schema that spec.params of a ScheduledJob must satisfy."
    )
    allowed_namespaces: list[str] | None = Field(
        None,
        max_length=1024,
        description="ClusterJobTemplate only: namespaces allowed to use it (empty: all).",
    )
    timeout: Duration | None = Field(None, description="Default run deadline.")
