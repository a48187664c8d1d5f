"""What every organisation namespace holds besides its jobs: quota, limits, no ingress.

One tenant must not take the node from the rest, and a run pod serves nothing, so each
organisation namespace the facade uses gets the objects of ``ALMANAC_API_NAMESPACE_DEFAULTS``
(a YAML list; the chart writes it from ``facade.orgNamespaces``): typically a
ResourceQuota (pods, Jobs, CPU, memory), a LimitRange (defaults for run pods that name no
resources) and a NetworkPolicy denying all ingress. They are created the first time this
process uses the namespace, created or found (an existing object of the same name is left
as it is), so a namespace made before the setting existed gets them too; a namespace whose
defaults could not be created is not remembered, and the next request tries again.

The file is read and checked once at start-up: a malformed one stops the facade with a
message naming the variable and the object at fault.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any, Final

import yaml

from almanac.core.errors import InvalidInputError

__all__ = ["ALLOWED_KINDS", "DEFAULTS_VARIABLE", "read_namespace_defaults"]

DEFAULTS_VARIABLE: Final = "ALMANAC_API_NAMESPACE_DEFAULTS"
#: ``kind`` → ``apiVersion`` of the objects a namespace may be given (and the facade's RBAC
#: may create): nothing that grants rights or runs code.
ALLOWED_KINDS: Final = {
    "ResourceQuota": "v1",
    "LimitRange": "v1",
    "NetworkPolicy": "networking.k8s.io/v1",
}


def _refuse(message: str) -> InvalidInputError:
    return InvalidInputError(f"{message}; fix the file or unset it", DEFAULTS_VARIABLE)


def _checked(index: int, obj: Any) -> dict[str, Any]:
    where = f"item {index}"
    if not isinstance(obj, Mapping):
        raise _refuse(f"{where} is not an object")
    kind = obj.get("kind")
    if kind not in ALLOWED_KINDS:
        raise _refuse(f"{where} has kind {kind!r}; allowed: {', '.join(ALLOWED_KINDS)}")
    if obj.get("apiVersion") != ALLOWED_KINDS[kind]:
        raise _refuse(f"{where} ({kind}) needs apiVersion {ALLOWED_KINDS[kind]}")
    meta = obj.get("metadata")
    if not isinstance(meta, Mapping) or not isinstance(meta.get("name"), str) or not meta["name"]:
        raise _refuse(f"{where} ({kind}) has no metadata.name")
    if "namespace" in meta:
        raise _refuse(f"{where} ({kind} {meta['name']}) names a namespace; leave it out")
    if not isinstance(obj.get("spec"), Mapping):
        raise _refuse(f"{where} ({kind} {meta['name']}) has no spec")
    return dict(obj)


def read_namespace_defaults(path: str | None) -> tuple[dict[str, Any], ...]:
    """The objects of the file at ``path`` (none when unset), checked."""
    if not path:
        return ()
    try:
        documents = yaml.safe_load(Path(path).read_text(encoding="utf-8"))
    except OSError as exc:
        raise _refuse(f"cannot read {path!r} ({exc.strerror})") from None
    except yaml.YAMLError as exc:
        raise _refuse(f"{path!r} is not YAML ({exc})") from None
    if documents is None:
        return ()
    if not isinstance(documents, list):
        raise _refuse(f"{path!r} must hold a YAML list of objects")
    return tuple(_checked(i, obj) for i, obj in enumerate(documents))
