"""The built-in templates as Almanac ships them (copies of ``config/templates``, which
``hack/chart/sync.py`` keeps equal): a built-in payload type used without its
ClusterJobTemplate installed still has that template's params schema, so its params are
checked at admission, by the facade and before a launch exactly as with it installed.
"""

from __future__ import annotations

import functools
from importlib import resources
from typing import Any

import yaml

__all__ = ["builtin_params_schema"]


@functools.cache
def builtin_params_schema(name: str) -> dict[str, Any] | None:
    """The ``paramsSchema`` of built-in template ``name`` (``None`` when there is none)."""
    source = resources.files(__name__).joinpath(f"{name}.yaml")
    if not source.is_file():
        return None
    document = yaml.safe_load(source.read_text())
    schema = (document.get("spec") or {}).get("paramsSchema")
    return schema if isinstance(schema, dict) else None
